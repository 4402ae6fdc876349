"""``make bench``: the pipeline's own overhead, measured in one run and printed as one table.

Every figure is measured here and now, each beside the baseline it is compared with:

- polling cost and delay per run, shared poller vs each run polling every 60 s (``polling.py``);
- orchestration cost per run in dollars, from those counts and the list prices in ``PRICES``;
- time to first feedback on a bad submission;
- synth time against a minimal reference stack (``synth_time.py``);
- handler import time against ``import boto3``, and the size of each function's Lambda asset (``cold_start.py``);
- the emulator's overhead per Lambda invocation, and the load curve: bursts of 10, 100 and 1,000 runs
  (``load_curve.py``);
- the demo's and the test suite's wall time.

Usage: ``python bench/run.py [--skip-suite] [--skip-load] [--json FILE]`` (``make bench`` runs everything).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cold_start  # noqa: E402
import load_curve  # noqa: E402
import polling  # noqa: E402
import synth_time  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: US East (N. Virginia) list prices in dollars, free tiers left out. Step Functions Standard bills state
#: transitions; Lambda (arm64) requests and GB-seconds; DynamoDB on-demand request units; SNS publishes.
#: SageMaker's Describe/List calls and EventBridge's scheduled rules are not billed.
PRICES = {
    "Step Functions state transition": 0.025 / 1_000,
    "Lambda request": 0.20 / 1_000_000,
    "Lambda GB-second (arm64)": 0.0000133334,
    "DynamoDB write request unit": 0.625 / 1_000_000,
    "DynamoDB read request unit": 0.125 / 1_000_000,
    "SNS publish": 0.50 / 1_000_000,
}
TARGETS = {"transitions_45": 40, "delay_seconds": 60, "cost": 0.002, "synth_ratio": 1.3, "import_ratio": 1.1,
           "asset_bytes": 200_000, "invocation_overhead_ms": 10, "flat_ratio": 1.5, "demo_seconds": 5,
           "suite_seconds": 120}


def run_cost(cost: polling.RunCost) -> float:
    """Dollars one run spends on orchestration (the IR job's own instances are not counted)."""
    return (cost.transitions * PRICES["Step Functions state transition"]
            + cost.lambda_invocations * PRICES["Lambda request"]
            + cost.lambda_gb_seconds * PRICES["Lambda GB-second (arm64)"]
            + cost.dynamodb_write_units * PRICES["DynamoDB write request unit"]
            + cost.dynamodb_read_units * PRICES["DynamoDB read request unit"]
            + cost.sns_publishes * PRICES["SNS publish"])


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds of a command run from the repository root, and its output's last lines."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.monotonic() - started, done.stdout.strip().splitlines()[-1]


def _reported(line: str) -> float | None:
    """The demo's own "Done in N s"."""
    return float(line.split("Done in ")[1].split(" s", maxsplit=1)[0]) if "Done in " in line else None


def main(argv: list[str] | None = None) -> int:
    """Measure everything, print the table, optionally write the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-suite", action="store_true", help="do not time the test suite (minutes)")
    parser.add_argument("--skip-load", action="store_true",
                        help="do not run the load curve (bursts of 10 and 100 runs, a few minutes)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)

    import logging  # noqa: PLC0415

    logging.getLogger("neo_runtime").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    figures: dict[str, Any] = {"date": datetime.now(UTC).date().isoformat(), "machine": _machine()}
    print(f"neo-recommender bench, {figures['date']}, {figures['machine']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="neo-recommender-bench-") as workdir:
        print("measuring polling (simulated jobs of 10, 45 and 120 minutes, both designs) ...", flush=True)
        runs = polling.measure_polling(Path(workdir))
        print("measuring a bad submission ...", flush=True)
        bad = polling.measure_bad_submission(Path(workdir))
        print("measuring the emulator's overhead per Lambda invocation ...", flush=True)
        overhead = load_curve.measure_invocation_overhead(Path(workdir))
        load = []
        if not args.skip_load:
            print(f"measuring the load curve (bursts of {', '.join(map(str, load_curve.BURSTS))}) ...", flush=True)
            load = load_curve.measure_load(Path(workdir))
    print("measuring synth time ...", flush=True)
    synth = synth_time.measure_synth(runs=3)
    print("measuring handler imports ...", flush=True)
    imports = cold_start.measure_imports(runs=7)
    asset = cold_start.asset_size()
    print("timing the demo, the first time (it synthesizes) and again (the assembly cached) ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="neo-recommender-demo-cache-") as cache:
        first_seconds, first_line = timed([sys.executable, "-m", "neo_recommender", "demo"],
                                          env={"NEO_RECOMMENDER_CACHE": cache})
        demo_seconds, demo_line = timed([sys.executable, "-m", "neo_recommender", "demo"],
                                        env={"NEO_RECOMMENDER_CACHE": cache})
    first_reported, demo_reported = _reported(first_line), _reported(demo_line)
    suite = None
    if not args.skip_suite:
        print("timing the test suite ...", flush=True)
        suite = timed([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", "-q"])

    figures.update(runs=[{**asdict(run), "delay_seconds": run.delay_seconds, "cost_dollars": run_cost(run)}
                         for run in runs],
                   bad_submission=asdict(bad), synth=synth, imports=imports, asset=asset,
                   demo_seconds=demo_seconds, demo_line=demo_line, demo_reported_seconds=demo_reported,
                   demo_first_seconds=first_seconds, demo_first_reported_seconds=first_reported,
                   invocation_overhead=asdict(overhead),
                   load=[{**asdict(point), "cost_dollars": run_cost(point.cost)} for point in load],
                   suite_seconds=suite[0] if suite else None, suite_line=suite[1] if suite else None,
                   prices=PRICES)
    print()
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


def render(figures: dict[str, Any]) -> str:
    """The table: one row per figure, with its baseline, the ratio, the target and whether it is met."""
    rows: list[tuple[str, str, str, str, str, str]] = []
    by_design: dict[str, dict[int, dict[str, Any]]] = {}
    for run in figures["runs"]:
        by_design.setdefault(run["design"], {})[run["job_minutes"]] = run
    shared, baseline = by_design["shared"], by_design["per-run 60 s"]
    for minutes in polling.JOB_MINUTES:
        ours, base = shared[minutes], baseline[minutes]
        label = f"{minutes}-min job"
        rows.append((f"{label}: state transitions", str(ours["transitions"]), str(base["transitions"]),
                     _ratio(ours["transitions"], base["transitions"]),
                     f"<= {TARGETS['transitions_45']}" if minutes == 45 else "flat", _met(
                         ours["transitions"] <= TARGETS["transitions_45"] if minutes == 45 else
                         ours["transitions"] <= shared[polling.JOB_MINUTES[0]]["transitions"] + 6)))
        rows.append((f"{label}: Lambda invocations (poller passes)",
                     f"{ours['lambda_invocations']} ({ours['poller_passes']})", str(base["lambda_invocations"]),
                     _ratio(ours["lambda_invocations"], base["lambda_invocations"]), "", ""))
        rows.append((f"{label}: IR status calls (Describe + List)", str(ours["status_calls"]),
                     str(base["status_calls"]), _ratio(ours["status_calls"], base["status_calls"]), "", ""))
        rows.append((f"{label}: job completed -> results in DynamoDB",
                     f"{ours['delay_seconds']:.1f} s", f"{base['delay_seconds']:.1f} s", "",
                     f"<= {TARGETS['delay_seconds']} s", _met(ours["delay_seconds"] <= TARGETS["delay_seconds"])))
        rows.append((f"{label}: orchestration cost per run", f"${ours['cost_dollars']:.6f}",
                     f"${base['cost_dollars']:.6f}", _ratio(ours["cost_dollars"], base["cost_dollars"]),
                     f"< ${TARGETS['cost']}", _met(ours["cost_dollars"] < TARGETS["cost"])))
    bad = figures["bad_submission"]
    rows.append(("Bad submission: rejected in state", str(bad["rejected_in_state"]), "", "", "1",
                 _met(bad["rejected_in_state"] == 1)))
    rows.append(("Bad submission: transitions / emulator time to FAILED record",
                 f"{len(bad['states_to_failed_record'])} / {bad['seconds_to_failed_record'] * 1000:.0f} ms",
                 "", "", "", ""))
    synth = figures["synth"]
    rows.append(("Synth, whole process (NeoRecommenderStack vs reference)", f"{synth['neo_total_s']:.2f} s",
                 f"{synth['reference_total_s']:.2f} s", f"{synth['total_ratio']:.2f}x",
                 f"<= {TARGETS['synth_ratio']}x", _met(synth["total_ratio"] <= TARGETS["synth_ratio"])))
    rows.append(("Synth, CPU time (both processes)", f"{synth['neo_cpu_s']:.2f} s", f"{synth['reference_cpu_s']:.2f} s",
                 f"{synth['cpu_ratio']:.2f}x", "", ""))
    if "bare_total_s" in synth:  # figures written before the bench measured the stack without cdk-nag lack it
        rows.append(("Synth without cdk-nag (the stack alone; wall, CPU)",
                     f"{synth['bare_total_s']:.2f} s, {synth['bare_cpu_s']:.2f} s",
                     f"{synth['reference_total_s']:.2f} s, {synth['reference_cpu_s']:.2f} s",
                     f"{synth['bare_total_ratio']:.2f}x, {synth['bare_cpu_ratio']:.2f}x", "", ""))
        rows.append(("Synth: what cdk-nag adds (wall, CPU)",
                     f"{synth['nag_total_s']:.2f} s, {synth['nag_cpu_s']:.2f} s", "",
                     f"{synth['nag_total_s'] / synth['reference_total_s']:.2f} of the reference", "", ""))
    warm, cold = figures["imports"]["modes"]["warm_bytecode"], figures["imports"]["modes"]["no_bytecode"]
    for name, entry in warm["handlers"].items():
        no_bytecode = cold["handlers"][name]
        rows.append((f"Import {name} (vs import boto3; no .pyc as on Lambda)",
                     f"{entry['ms']:.0f} ms; {no_bytecode['ms']:.0f} ms", f"{warm['boto3_ms']:.0f} ms",
                     f"{entry['ratio']:.2f}x; {no_bytecode['ratio']:.2f}x", f"<= {TARGETS['import_ratio']}x",
                     _met(entry["ratio"] <= TARGETS["import_ratio"])))
    asset = figures["asset"]
    rows.append((f"Largest Lambda asset ({asset['largest']}; one per function)",
                 f"{asset['files']} files, {asset['bytes']:,} B; {asset['zip_bytes']:,} B zipped",
                 f"whole package {asset['package']['bytes']:,} B", f"{asset['bytes'] / asset['package']['bytes']:.2f}x",
                 f"< {TARGETS['asset_bytes']:,} B", _met(asset["bytes"] < TARGETS["asset_bytes"])))
    overhead = figures["invocation_overhead"]
    rows.append((f"Emulator overhead per Lambda invocation (median of {overhead['invocations']}; mean, p95)",
                 f"{overhead['median_ms']:.1f} ms ({overhead['mean_ms']:.1f}, {overhead['p95_ms']:.1f} ms)",
                 f"handler {overhead['handler_median_ms']:.1f} ms", "",
                 f"<= {TARGETS['invocation_overhead_ms']} ms",
                 _met(overhead["median_ms"] <= TARGETS["invocation_overhead_ms"])))
    rows.extend(_load_rows(figures.get("load") or []))
    reported, first = figures.get("demo_reported_seconds"), figures.get("demo_first_reported_seconds")
    rows.append(("make demo, reported (wall with imports): the first time; again, the assembly cached",
                 f"{first or 0:.1f} s ({figures.get('demo_first_seconds') or 0:.1f} s); "
                 f"{reported or 0:.1f} s ({figures['demo_seconds']:.1f} s)", "", "",
                 f"<= {TARGETS['demo_seconds']} s",
                 _met(reported is not None and reported <= TARGETS["demo_seconds"]) + " (cached)"))
    if figures.get("suite_seconds") is not None:
        rows.append(("Test suite (pytest -n 2, wall)", f"{figures['suite_seconds']:.0f} s", "", "",
                     f"<= {TARGETS['suite_seconds']} s", _met(figures["suite_seconds"] <= TARGETS["suite_seconds"])))
    header = ("Figure", "Measured", "Baseline", "Ratio", "Target", "Met")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    notes = [
        "",
        "Baseline of the polling rows: each run polls its own job every 60 s (jobPolling perRun, as the AWS "
        "example notebooks poll).",
        f"Jobs are simulated at {polling.SPEEDUP}x; the delay is the simulated wait for the first status call "
        "reporting COMPLETED plus the real seconds the emulator took from there to the stored results.",
        "Prices (us-east-1, list): " + "; ".join(f"{name} ${price:.10g}" for name, price in
                                                 figures["prices"].items()) + ".",
        f"Lambda GB-seconds: measured handler time plus {polling.NETWORK_SECONDS_PER_CALL * 1000:.0f} ms per AWS "
        f"call, at {polling.LAMBDA_MEMORY_GB * 1024:.0f} MB. DynamoDB in request units by item size (1 KB a "
        "write unit, 4 KB a read unit; bench/dynamodb_units.py).",
    ]
    return "\n".join(lines + notes)


def _load_rows(load: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str, str]]:
    """One row per burst, and the growth of the per-run figures from the smallest burst to the largest."""
    rows = []
    for point in load:
        rows.append((f"Burst of {point['runs']} (limit {load_curve.MAX_CONCURRENT_JOBS}): drain, peak jobs, lost/dup, "
                     "largest slot item",
                     f"{point['drain_hours']:.2f} h (bound {point['bound_hours']:.2f} h), {point['peak_jobs']}, "
                     f"{point['lost']}/{point['duplicated']}, {point['slot_item_bytes'] / 1024:.1f} KB", "", "",
                     "0 lost, 0 duplicated",
                     _met(point["lost"] == 0 and point["duplicated"] == 0)))
        rows.extend((f"  lost: {why}"[:84], "", "", "", "", "") for why in point.get("lost_runs", ()))
        rows.append((f"Burst of {point['runs']}: per run invocations, transitions, slot conflicts (writes), cost",
                     f"{point['invocations_per_run']:.2f}, {point['transitions_per_run']:.2f}, "
                     f"{point['slot_conflicts_per_run']:.2f} ({point['slot_writes_per_run']:.2f}), "
                     f"${point['cost_dollars']:.6f}", "", "", "", ""))
        by_item = ", ".join(f"{kind} {units:g}" for kind, units in point.get("write_units_by_item", {}).items())
        rows.append((f"Burst of {point['runs']}: DynamoDB write units per run, by item"[:84],
                     f"{point['cost']['dynamodb_write_units']:.1f} ({by_item})"[:60], "", "", "", ""))
    if len(load) > 1:
        first, last = load[0], load[-1]
        cost_growth = last["cost_dollars"] / first["cost_dollars"]
        conflicts = (last["slot_conflicts_per_run"], first["slot_conflicts_per_run"])
        conflict_growth = conflicts[0] / conflicts[1] if conflicts[1] else (1.0 if not conflicts[0] else float("inf"))
        rows.append((f"Per-run cost and conflicts, {last['runs']} vs {first['runs']} runs",
                     f"{cost_growth:.2f}x, {conflict_growth:.2f}x", "", "", f"<= {TARGETS['flat_ratio']}x",
                     _met(cost_growth <= TARGETS["flat_ratio"] and conflict_growth <= TARGETS["flat_ratio"])))
    return rows


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline else ""


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def _machine() -> str:
    cpus = os.cpu_count() or 0
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    system = f"{platform.system()} {platform.machine()}"
    return f"{cpus} cores, {memory:.0f} GiB, {system}, Python {platform.python_version()}"


if __name__ == "__main__":
    sys.exit(main())
