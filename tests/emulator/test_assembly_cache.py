"""The demo's assembly cache: reused only for the same inputs, only from a folder no one else can write to."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from neo_recommender.emulator import assembly_cache
from neo_recommender.emulator.assembly_cache import assembly_key, cached_assembly


class Synthesis:
    """Stands in for the CDK (what is tested is the cache): writes an assembly and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.contexts: list[dict[str, Any]] = []

    def __call__(self, outdir: Path, context: dict[str, Any]) -> Path:
        self.calls += 1
        self.contexts.append(context)
        outdir.mkdir(parents=True)
        (outdir / "manifest.json").write_text(json.dumps({"call": self.calls}), encoding="utf-8")
        return outdir


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(assembly_cache.CACHE_VARIABLE, str(root))
    return root


def test_the_same_inputs_are_synthesized_once(cache: Path, tmp_path: Path) -> None:
    synthesis = Synthesis()
    first, cached_first = cached_assembly({"a": 1}, synthesis, tmp_path)
    again, cached_again = cached_assembly({"a": 1}, synthesis, tmp_path)
    other, cached_other = cached_assembly({"a": 2}, synthesis, tmp_path)
    assert (cached_first, cached_again, cached_other) == (False, True, False)
    assert again == first and first.parent == cache and other != first and synthesis.calls == 2
    assert json.loads((again / "manifest.json").read_text(encoding="utf-8")) == {"call": 1}
    assert not [path for path in cache.iterdir() if path.name.startswith(".")]  # no staging folder left
    assert synthesis.contexts == [{"a": 1}, {"a": 2}]  # each synthesized with the context its key names


def test_the_key_follows_the_context_and_the_cdk_version(monkeypatch: pytest.MonkeyPatch) -> None:
    key = assembly_key({"neo-recommender:maxConcurrentJobs": 5})
    assert assembly_key({"neo-recommender:maxConcurrentJobs": 5}) == key
    assert assembly_key({"neo-recommender:maxConcurrentJobs": 6}) != key
    versions = {"aws-cdk-lib": "2.0.0"}
    monkeypatch.setattr(assembly_cache.metadata, "version", lambda name: versions.get(name, "1"))
    assert assembly_key({"neo-recommender:maxConcurrentJobs": 5}) != key


def test_a_folder_others_can_write_to_is_not_trusted(cache: Path, tmp_path: Path) -> None:
    synthesis = Synthesis()
    cached_assembly({"a": 1}, synthesis, tmp_path / "one")
    (entry,) = cache.iterdir()
    os.chmod(entry, 0o777)  # anyone could have replaced what is in it
    assembly, cached = cached_assembly({"a": 1}, synthesis, tmp_path / "two")
    assert not cached and assembly == tmp_path / "two" / "cdk.out" and synthesis.calls == 2
    os.chmod(entry, 0o755)
    os.chmod(cache, 0o777)
    assembly, cached = cached_assembly({"a": 1}, synthesis, tmp_path / "three")
    assert not cached and assembly == tmp_path / "three" / "cdk.out"


def test_off_means_every_demo_synthesizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(assembly_cache.CACHE_VARIABLE, "off")
    synthesis = Synthesis()
    for index in range(2):
        assembly, cached = cached_assembly({"a": 1}, synthesis, tmp_path / str(index))
        assert not cached and assembly == tmp_path / str(index) / "cdk.out"
    assert synthesis.calls == 2


def test_only_the_three_most_recent_entries_are_kept(cache: Path, tmp_path: Path) -> None:
    synthesis = Synthesis()
    for index in range(5):
        assembly, _ = cached_assembly({"a": index}, synthesis, tmp_path)
        os.utime(assembly, (1_000_000 + index, 1_000_000 + index))
    assert len(list(cache.iterdir())) == 3
