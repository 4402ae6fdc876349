"""How the pipeline's cost grows with the load, and what the emulator adds to each Lambda invocation.

``measure_load`` submits bursts of 10, 100 and 1,000 models at once to the stack synthesized with
``maxConcurrentJobs`` 10 (the repository's cdk.json otherwise), each burst in a fresh emulator, and
waits for every run to end. For each burst it reports:

- drain time: simulated hours from the first upload to the last run's end, beside the bound that
  the limit sets (waves of 10 jobs, each ``JOB_MINUTES`` long);
- peak concurrent IR jobs (from the jobs' creation and completion times);
- runs lost (a submission with no COMPLETED run) and duplicated (a model with more than one job);
- Lambda invocations and state transitions per run (every execution's history);
- write conflicts on the job-slot item per run: a conditional write of the ``JOB_SLOTS`` item that
  DynamoDB refused because another run wrote it first (optimistic locking, ``job_slots.py``);
- orchestration cost per run, priced as the polling rows are (``run.run_cost``), DynamoDB by the request
  units AWS bills (``dynamodb_units``: an item's size, not one unit per request), with the units per run
  by the kind of item they went to, which shows the part that grows with the queue.

The emulator's clock skips idle time (``EmbeddedAws(skip_idle=True)``): while any run works, simulated
time runs ``SPEEDUP`` times faster than real time (slow, so a wave's work takes simulated seconds, as it
would in AWS); once every run waits (on a job slot, the next poll, a timeout), it jumps to the next
deadline. The drain time is then the pipeline's, not the emulator's speed: it meets the bound the limit
sets unless the pipeline itself leaves slots idle.

``measure_invocation_overhead`` times Lambda invocations made through the Lambda API (as Step
Functions and EventBridge make them) and subtracts the handler's own time: what remains is the
emulator (botocore's request and response, moto's routing, IAM authorization of the call and of the
function's log and trace delivery, the function's environment and logging). The emulator runs one
invocation at a time, so an invocation that starts while another runs waits for it: that wait is
the other handler's work, reported apart (``queued_mean_ms``), not overhead.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polling  # noqa: I001 - bench/ is on sys.path when run from there
from dynamodb_units import RequestUnitMeter

#: ``make bench``'s bursts.
BURSTS = (10, 100, 1000)
MAX_CONCURRENT_JOBS = 10
JOB_MINUTES = 5
#: Simulated seconds per real second while runs work (idle time is skipped; see the module docstring).
SPEEDUP = 10
SLOTS_PARTITION = "JOB_SLOTS"


@dataclass(frozen=True)
class LoadPoint:
    """One burst, drained."""

    runs: int
    real_seconds: float
    drain_hours: float
    bound_hours: float
    peak_jobs: int
    lost: int
    duplicated: int
    invocations_per_run: float
    transitions_per_run: float
    slot_conflicts_per_run: float
    slot_writes_per_run: float
    #: The job-slot item's size at its largest (bytes of its attribute values as JSON): it lists every waiting run.
    slot_item_bytes: int
    cost: polling.RunCost
    #: Each lost run: its model, and what its run record and its execution say happened to it.
    lost_runs: tuple[str, ...] = ()
    #: DynamoDB request units per run by the kind of item they went to (``pk`` up to its first ``#``).
    write_units_by_item: dict[str, float] = field(default_factory=dict)
    read_units_by_item: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class InvocationOverhead:
    """Real milliseconds an invocation spends in the emulator outside its handler."""

    invocations: int
    mean_ms: float
    median_ms: float
    p95_ms: float
    handler_median_ms: float
    queued_mean_ms: float
    iam_checks_per_invocation: float
    #: Mean real milliseconds the emulator's IAM spends authorizing one AWS call a handler (or a task) makes.
    iam_ms_per_call: float


def measure_load(workdir: Path, bursts: tuple[int, ...] = BURSTS) -> list[LoadPoint]:
    """Each burst in an emulator of its own, on one synthesized stack."""
    from neo_recommender.emulator.assembly import synthesize  # noqa: PLC0415 - loads the CDK

    context = {**polling.repository_context(), "neo-recommender:maxConcurrentJobs": MAX_CONCURRENT_JOBS}
    assembly = synthesize(workdir / "load", context)[1]
    points = []
    for runs in bursts:
        print(f"  burst of {runs} ...", flush=True)
        points.append(_burst(assembly, runs))
    return points


def measure_invocation_overhead(workdir: Path, runs: int = 5) -> InvocationOverhead:
    """Sequential runs on the default stack; every Invoke call timed from the caller's side."""
    from botocore.client import BaseClient  # noqa: PLC0415

    from neo_recommender.emulator import EmbeddedAws  # noqa: PLC0415
    from neo_recommender.emulator.assembly import STACK_NAME, synthesize  # noqa: PLC0415

    assembly = synthesize(workdir / "overhead", polling.repository_context())[1]
    outer: list[tuple[int, float]] = []  # (calling thread, seconds) of each Invoke call
    original: Any = None  # botocore's call as the emulator installed it (IAM's authorization first)

    def timed_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation != "Invoke":
            return original(client, operation, params)
        started = time.perf_counter()
        try:
            return original(client, operation, params)
        finally:
            outer.append((threading.get_ident(), time.perf_counter() - started))

    authorizations: list[float] = []  # seconds of each AWS call's authorization by the emulator's IAM

    with EmbeddedAws(speedup=polling.SPEEDUP) as aws:
        outputs = aws.deploy(assembly, STACK_NAME).outputs
        _submit_and_drain(aws, outputs, [f"overhead-warm-{index}" for index in range(2)])  # imports, caches
        original, authorize = BaseClient._make_api_call, aws.iam.authorize_call

        def timed_authorization(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return authorize(*args, **kwargs)
            finally:
                authorizations.append(time.perf_counter() - started)

        aws.iam.authorize_call = timed_authorization  # type: ignore[method-assign]
        first, checks_before = len(aws.lambdas.records), sum(aws.iam.checked.values())
        BaseClient._make_api_call = timed_call  # type: ignore[method-assign]  # outermost: calls IAM's wrapper
        try:
            _submit_and_drain(aws, outputs, [f"overhead-{index}" for index in range(runs)])
            polling._wait_until_schedules_are_off(aws)  # the poller's last pass is timed too
            aws.wiring.wait_until_quiet()  # and no pass is still running when the two lists are read
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]
        records, outer = aws.lambdas.records[first:], list(outer)
        checks = sum(aws.iam.checked.values()) - checks_before
    if len(outer) != len(records):
        by_thread = Counter(thread for thread, _ in outer)
        recorded = Counter(record.thread for record in records)
        raise RuntimeError(f"{len(outer)} Invoke calls timed but {len(records)} invocations recorded: "
                           f"{[(t, by_thread[t], recorded[t]) for t in by_thread if by_thread[t] != recorded[t]]}; "
                           f"{[(r.module, r.thread) for r in records[-3:]]}")
    # Each calling thread's Invoke calls and invocations come in the same order.
    handler_seconds: dict[int, list[float]] = {}
    for record in records:  # the handler's time, and the wait for the invocation before it (one runs at a time)
        handler_seconds.setdefault(record.thread, []).append(record.seconds + record.queued)
    overheads = sorted((seconds - handler_seconds[thread].pop(0)) * 1000 for thread, seconds in outer)
    return InvocationOverhead(
        invocations=len(overheads), mean_ms=statistics.fmean(overheads), median_ms=statistics.median(overheads),
        p95_ms=overheads[int(0.95 * (len(overheads) - 1))],
        handler_median_ms=statistics.median(record.seconds * 1000 for record in records),
        queued_mean_ms=statistics.fmean(record.queued * 1000 for record in records),
        iam_ms_per_call=statistics.fmean(authorizations) * 1000,
        iam_checks_per_invocation=checks / len(records))


def _burst(assembly: Path, runs: int) -> LoadPoint:
    from moto.dynamodb.exceptions import ConditionalCheckFailed  # noqa: PLC0415
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

    from neo_recommender.emulator import EmbeddedAws  # noqa: PLC0415
    from neo_recommender.emulator.assembly import STACK_NAME  # noqa: PLC0415
    from neo_recommender.emulator.ir_simulator import peak_concurrency  # noqa: PLC0415

    slot_writes: Counter[str] = Counter()
    original_put = DynamoDBBackend.put_item

    def put_item(backend: Any, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if (item_attrs.get("pk") or {}).get("S") != SLOTS_PARTITION:
            return original_put(backend, table_name, item_attrs, *args, **kwargs)
        slot_writes["attempted"] += 1
        slot_writes["largest_bytes"] = max(slot_writes["largest_bytes"], len(json.dumps(item_attrs)))
        try:
            return original_put(backend, table_name, item_attrs, *args, **kwargs)
        except ConditionalCheckFailed:
            slot_writes["refused"] += 1
            raise

    names = [f"load-{index:04d}" for index in range(runs)]
    DynamoDBBackend.put_item = put_item  # type: ignore[method-assign]
    try:
        with EmbeddedAws(speedup=SPEEDUP, job_duration_seconds=JOB_MINUTES * 60, skip_idle=True) as aws:
            outputs = aws.deploy(assembly, STACK_NAME).outputs
            started_real, started_simulated = time.monotonic(), aws.clock.now()
            with RequestUnitMeter() as units:
                executions = _submit_and_drain(aws, outputs, names, timeout_seconds=runs * 30 + 600)
                # Execution dates are real time in moto; the emulator's clock tells the simulated time.
                drained, real_seconds = aws.clock.now(), time.monotonic() - started_real
                polling._wait_until_schedules_are_off(aws)
            sagemaker = aws.client("sagemaker")
            jobs = [sagemaker.describe_inference_recommendations_job(JobName=job["JobName"])
                    for job in aws.recommender.jobs()]
            transitions = sum(sum(1 for event in polling._history(aws, execution["executionArn"])
                                  if event["type"].endswith("StateEntered")) for execution in executions)
            records = list(aws.lambdas.records)
            records_by_model = _run_records(aws, outputs)
            completed = {model for model, found in records_by_model.items()
                         if any(item.get("status", {}).get("S") == "COMPLETED" for item in found)}
            lost_runs = _why_not_completed(records_by_model, executions, sorted(set(names) - completed))
    finally:
        DynamoDBBackend.put_item = original_put  # type: ignore[method-assign]
    jobs_per_model = Counter(_model_of(job["JobName"]) for job in jobs)
    calls: Counter[str] = Counter()
    for record in records:
        calls.update(record.calls)
    per_run = polling.RunCost(
        design="shared", job_minutes=JOB_MINUTES, transitions=transitions / runs,
        lambda_invocations=len(records) / runs,
        poller_passes=sum(1 for record in records if record.module == "watch_jobs") / runs,
        status_calls=(calls["sagemaker.DescribeInferenceRecommendationsJob"]
                      + calls["sagemaker.ListInferenceRecommendationsJobs"]) / runs,
        dynamodb_writes=(sum(calls[f"dynamodb.{op}"] for op in polling._WRITES)
                         + calls["dynamodb.BatchWriteItem.items"]) / runs,
        dynamodb_reads=sum(calls[f"dynamodb.{op}"] for op in polling._READS) / runs,
        dynamodb_write_units=sum(units.write_units.values()) / runs,
        dynamodb_read_units=sum(units.read_units.values()) / runs,
        sns_publishes=calls["sns.Publish"] / runs,
        lambda_gb_seconds=sum((record.seconds + polling.NETWORK_SECONDS_PER_CALL * polling._requests(record.calls))
                              * polling.LAMBDA_MEMORY_GB for record in records) / runs,
        wait_for_status_seconds=0.0, processing_seconds=0.0)
    waves = -(-runs // MAX_CONCURRENT_JOBS)
    return LoadPoint(
        runs=runs, real_seconds=real_seconds,
        drain_hours=(drained - started_simulated).total_seconds() / 3600,
        bound_hours=timedelta(minutes=waves * JOB_MINUTES).total_seconds() / 3600,
        peak_jobs=peak_concurrency(jobs), lost=len(set(names) - completed),
        duplicated=sum(1 for count in jobs_per_model.values() if count > 1),
        invocations_per_run=len(records) / runs, transitions_per_run=transitions / runs,
        slot_conflicts_per_run=slot_writes["refused"] / runs, slot_writes_per_run=slot_writes["attempted"] / runs,
        slot_item_bytes=slot_writes["largest_bytes"],
        cost=per_run, lost_runs=lost_runs,
        write_units_by_item={kind: round(count / runs, 2) for kind, count in units.write_units.most_common()},
        read_units_by_item={kind: round(count / runs, 2) for kind, count in units.read_units.most_common()})


def _submit_and_drain(aws: Any, outputs: dict[str, str], names: list[str],
                      timeout_seconds: float = 120) -> list[dict[str, Any]]:
    from neo_recommender import samples  # noqa: PLC0415

    s3, bucket = aws.client("s3"), outputs["SubmissionBucketName"]
    before = len(aws.client("stepfunctions").list_executions(stateMachineArn=outputs["StateMachineArn"])["executions"])
    for name in names:
        folder = f"{outputs['WatchedPrefix']}{name}/"
        s3.put_object(Bucket=bucket, Key=folder + "model.tar.gz", Body=samples.xgboost_model_archive())
        s3.put_object(Bucket=bucket, Key=folder + "payload.tar.gz", Body=samples.csv_payload_archive())
        s3.put_object(Bucket=bucket, Key=folder + "recommend.json", Body=json.dumps(samples.xgboost_manifest(name)))
    executions = aws.wait_for_executions(outputs["StateMachineArn"], count=before + len(names),
                                         timeout_seconds=timeout_seconds)
    return executions[before:]


def _run_records(aws: Any, outputs: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every run record (an item with a ``status``) of the results table, by model name: one scan."""
    dynamodb = aws.client("dynamodb")
    records: dict[str, list[dict[str, Any]]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=outputs["ResultsTableName"]):
        for item in page["Items"]:
            if "status" in item and "model_name" in item:
                records.setdefault(item["model_name"]["S"], []).append(item)
    return records


def _why_not_completed(records_by_model: dict[str, list[dict[str, Any]]], executions: list[dict[str, Any]],
                       models: list[str]) -> tuple[str, ...]:
    """For each model with no COMPLETED run: its run records' status and error, and its executions' status."""
    found: dict[str, list[str]] = {model: [] for model in models}
    for model in models:
        for item in records_by_model.get(model, []):
            error = item.get("error", {}).get("M", {})
            found[model].append(f"record {item['status'].get('S')} {error.get('type', {}).get('S', '')} "
                                f"{error.get('message', {}).get('S', '')}".strip()[:300])
    for execution in executions:
        for model in models:
            if f"/{model}/" in execution.get("input", ""):
                found[model].append(f"execution {execution['status']} {execution.get('error', '')} "
                                    f"{str(execution.get('cause', ''))[:300]}".strip())
    return tuple(f"{model}: {'; '.join(said) or 'no run record, no execution'}" for model, said in found.items())


def _model_of(job_name: str) -> str:
    """``nr-load-0007-<suffix>`` -> ``load-0007``."""
    return "-".join(job_name.split("-")[1:3])


def main(argv: list[str] | None = None) -> int:
    """``python bench/load_curve.py [--bursts 10 100 1000] [--json FILE]``: the load curve and the overhead."""
    import argparse  # noqa: PLC0415
    import logging  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from dataclasses import asdict  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, nargs="+", default=list(BURSTS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    logging.getLogger("neo_runtime").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="neo-recommender-load-") as workdir:
        overhead = measure_invocation_overhead(Path(workdir))
        print(overhead, flush=True)
        points = measure_load(Path(workdir), tuple(args.bursts))
    for point in points:
        print(point, flush=True)
    if args.json:
        args.json.write_text(json.dumps({"overhead": asdict(overhead), "load": [asdict(p) for p in points]},
                                        indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
