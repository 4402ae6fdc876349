"""The emulator raises the garbage collector's thresholds while it runs, and gives back the ones it found."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from neo_recommender.emulator import EmbeddedAws, demo
from neo_recommender.emulator.collection_thresholds import EMULATOR_THRESHOLDS, FewerCollections

PYTHON_DEFAULTS = (700, 10, 10)


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    """CPython's own thresholds for the test (the suite runs with raised ones), the suite's back after."""
    suite = gc.get_threshold()
    gc.set_threshold(*PYTHON_DEFAULTS)
    yield
    gc.set_threshold(*suite)


def test_thresholds_are_raised_for_the_block_and_restored(default_thresholds: None) -> None:
    with FewerCollections():
        assert gc.get_threshold() == EMULATOR_THRESHOLDS
    assert gc.get_threshold() == PYTHON_DEFAULTS


def test_a_higher_threshold_set_by_the_process_is_kept(default_thresholds: None) -> None:
    gc.set_threshold(500_000, 5, 100)
    with FewerCollections():
        assert gc.get_threshold() == (500_000, 50, 100)
    assert gc.get_threshold() == (500_000, 5, 100)


def test_the_emulated_account_runs_with_raised_thresholds(default_thresholds: None) -> None:
    with EmbeddedAws():
        assert gc.get_threshold() == EMULATOR_THRESHOLDS
    assert gc.get_threshold() == PYTHON_DEFAULTS


def test_the_demo_raises_them_from_its_start(default_thresholds: None, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    seen = []

    def run(out: io.StringIO, model_name: str, output_dir: Path) -> int:
        seen.append(gc.get_threshold())  # before the warm-up's imports and the synthesis
        return 0

    monkeypatch.setattr(demo, "_run_demo", run)
    assert demo.run_demo(out=io.StringIO(), output_dir=tmp_path) == 0
    assert seen == [EMULATOR_THRESHOLDS] and gc.get_threshold() == PYTHON_DEFAULTS
