"""Shared fixtures: one synthesis of the real stack per test session (jsii start-up costs seconds)."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Tests never reach AWS: fake credentials and a fixed region for every boto3 client.
for _name, _value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                      ("AWS_SECURITY_TOKEN", "testing"), ("AWS_SESSION_TOKEN", "testing"),
                      ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_REGION", "us-east-1")):
    os.environ[_name] = _value

# The emulated runs allocate fast (moto copies items, botocore builds and parses every request) among a million
# long-lived objects (the CDK's and moto's), and CPython 3.11's default thresholds (700, 10, 10) collect young objects
# every 700 net allocations of tracked objects and scan them all 19 times in the 200-run burst: 10 s of its 65 (timed
# with gc.callbacks, the burst alone). Collecting young objects every 100,000 and the older ones rarely cut that to
# 4 s, and the burst file's CPU time from 94.0 s to 84.6 s (peak memory 653 MB to 683 MB); cycles are still collected.
# The emulator raises them to the same while it runs (neo_recommender.emulator.collection_thresholds); the session
# keeps them for synthesis and the handler tests too.
gc.set_threshold(100_000, 50, 50)


@dataclass(frozen=True)
class Synthesized:
    """The synthesized stack, its template (as a dict and as an assertions Template) and the assembly."""

    stack: Any
    template: Any
    template_json: dict[str, Any]
    assembly_dir: Path


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """``NeoRecommenderStack`` synthesized once, with the default context of cdk.json."""
    import json

    from aws_cdk.assertions import Template

    from neo_recommender.emulator.assembly import synthesize

    context = json.loads((Path(__file__).resolve().parents[1] / "cdk.json").read_text())["context"]
    stack, assembly = synthesize(tmp_path_factory.mktemp("cdk.out"), context)
    template = Template.from_stack(stack)
    return Synthesized(stack, template, template.to_json(), assembly)


#: The slowest test files, started first: xdist (``--dist loadfile --no-loadscope-reorder``) hands out files in this
#: order, so the long ones run side by side on the two workers instead of last, one after the other.
#: Longest first, about (2026-12-01, in the suite): 87 s, 61 s, 32 s, 43 s, 25 s; each worker takes two or three.
SLOW_FIRST = ("e2e/test_burst.py", "e2e/test_iam_mutations_limited.py", "e2e/test_iam_mutations_configured.py",
              "packaging/test_wheel.py", "e2e/test_faults.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slowest files first (see ``SLOW_FIRST``); keep every other order."""
    def rank(item: pytest.Item) -> int:
        path = item.path.as_posix()
        return next((i for i, slow in enumerate(SLOW_FIRST) if path.endswith(slow)), len(SLOW_FIRST))
    items.sort(key=rank)
