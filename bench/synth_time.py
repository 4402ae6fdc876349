"""How long ``NeoRecommenderStack`` takes to synthesize, as a ratio against a minimal reference stack.

The reference stack holds one of each kind of resource the pipeline is built from: an S3 bucket, a
DynamoDB table, an SNS topic, a Python Lambda function, a Step Functions state machine (one
``LambdaInvoke`` task) and an EventBridge rule starting it. ``NeoRecommenderStack`` is built the way
``app.py`` builds it, cdk-nag's ``AwsSolutionsChecks`` validation plugin included; both apps get the
context of ``cdk.json`` (feature flags included), as ``cdk synth`` would give them. A third kind, ``bare``, builds
``NeoRecommenderStack`` without the cdk-nag plugin (and without importing cdk-nag): the difference between ``neo``
and ``bare`` is what checking the app with cdk-nag on every synth costs, and ``bare``'s ratio is what the stack
itself costs against the reference, whatever cdk-nag's share. All keep
aws-cdk-lib's built-in CloudFormation validation on, as ``app.py`` does: about 2 seconds of WebAssembly
start-up in each, which narrows the ratios (with ``CDK_VALIDATION=false`` in the environment, each skips it).

Every measurement is a fresh Python process (``sys.executable``) that synthesizes an app holding one
stack into a temporary folder, so neither stack profits from the other's warm jsii kernel. Runs are
interleaved (reference, neo, bare, reference, ...) so that a machine busy for a while slows them all, and
the median of each is reported. The children write bytecode as Python does by default, after one untimed
synth of each stack: as from a user's second ``cdk synth`` on, both read compiled modules (with
``PYTHONDONTWRITEBYTECODE`` set, as on the development machine, the neo child compiled the construct
library's modules on every run, about 0.35 s, while aws-cdk-lib's were compiled at install for both).
Three times per stack:

- ``total``: the child process's wall time, start to exit, seen from here. It includes Python and
  Node.js start-up and loading aws-cdk-lib through jsii, which cost much the same for both stacks.
- ``build``: inside the child, from just before ``App()`` to just after ``app.synth()`` returns: the
  cost of our constructs and of synthesis alone. The child prints it as JSON on its last stdout line.
- ``cpu``: the CPU time (user + system) of the child and its Node.js process. Wall times stretch when
  other work shares the machine, the neo stack's more (each of its hundreds of Python-to-Node.js calls
  waits for the other process to be scheduled); CPU time barely does, so ``cpu_ratio`` is the steadier
  number on a busy machine.

``measure_synth`` is what the bench script imports; importing this module loads no CDK code (the CDK
is imported only in the child processes). Run it directly to print the result::

    python bench/synth_time.py [--runs N]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: The repository's root: this file is ``<root>/bench/synth_time.py``.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: What the child processes need on ``PYTHONPATH`` (the construct library and the Lambda code).
CHILD_PYTHONPATH = [REPO_ROOT / "constructs", REPO_ROOT / "lambdas"]
#: The stack kinds a child can synthesize.
REFERENCE, NEO, BARE = "reference", "neo", "bare"
#: The description ``app.py`` gives the stack (kept in step with ``app.py`` by hand).
NEO_STACK_DESCRIPTION = (
    "neo-recommender: SageMaker Inference Recommender with Neo compilation for models uploaded to S3")
#: Modules each child imports before its clock starts: imports are start-up, not construction.
CHILD_IMPORTS = {
    REFERENCE: ["aws_cdk", "aws_cdk.aws_s3", "aws_cdk.aws_dynamodb", "aws_cdk.aws_sns", "aws_cdk.aws_lambda",
                "aws_cdk.aws_stepfunctions", "aws_cdk.aws_stepfunctions_tasks", "aws_cdk.aws_events",
                "aws_cdk.aws_events_targets"],
    NEO: ["aws_cdk", "cdk_nag", "neo_recommender.stack"],
    BARE: ["aws_cdk", "neo_recommender.stack"],
}


# --- What the child processes run ------------------------------------------------------------------


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` of ``cdk.json``: what the CDK CLI hands ``app.py`` (feature flags included)."""
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def build_reference_stack(app: Any) -> None:
    """Add the minimal reference stack to ``app``: one resource of each kind the pipeline uses."""
    from aws_cdk import Stack
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk import aws_stepfunctions_tasks as tasks

    stack = Stack(app, "ReferenceStack")
    s3.Bucket(stack, "Bucket")
    dynamodb.Table(stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
                   billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST)
    sns.Topic(stack, "Topic")
    function = lambda_.Function(stack, "Function", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
                                code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))
    invoke = tasks.LambdaInvoke(stack, "Invoke", lambda_function=function, payload_response_only=True)
    state_machine = sfn.StateMachine(stack, "StateMachine", definition_body=sfn.DefinitionBody.from_chainable(invoke))
    events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["aws.s3"], detail_type=["Object Created"]),
                targets=[targets.SfnStateMachine(state_machine)])


def build_neo_stack(app: Any, *, with_nag: bool = True) -> None:
    """Add ``NeoRecommenderStack`` to ``app`` exactly as ``app.py`` does, cdk-nag plugin included unless ``with_nag``
    is false (``bare``: the stack alone)."""
    import aws_cdk as cdk

    from neo_recommender import NeoRecommenderStack

    NeoRecommenderStack(app, "NeoRecommenderStack", description=NEO_STACK_DESCRIPTION)
    if with_nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def synthesize_in_this_process(kind: str, outdir: str) -> dict[str, float]:
    """Synthesize one app holding the ``kind`` stack into ``outdir``; return how long each part took.

    ``import_s`` is loading the CDK (and the construct library); ``build_s`` runs from just before
    ``App()`` to just after ``app.synth()`` returns.
    """
    started = time.perf_counter()
    for module in CHILD_IMPORTS[kind]:
        importlib.import_module(module)
    import aws_cdk as cdk

    context = cdk_json_context()
    imported = time.perf_counter()
    app = cdk.App(outdir=outdir, context=context)
    if kind == REFERENCE:
        build_reference_stack(app)
    else:
        build_neo_stack(app, with_nag=kind == NEO)
    app.synth()
    synthesized = time.perf_counter()
    return {"import_s": imported - started, "build_s": synthesized - imported}


# --- What the parent process runs ------------------------------------------------------------------


def child_environment() -> dict[str, str]:
    """This process's environment, with the construct library on ``PYTHONPATH`` and jsii's Node.js notice off, and
    bytecode written as Python writes it by default (``PYTHONDONTWRITEBYTECODE`` left out): a user's ``cdk synth``
    reads the construct library's compiled modules from its second run on, as both children read aws-cdk-lib's,
    compiled when pip installed it."""
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    paths = [str(path) for path in CHILD_PYTHONPATH]
    if environment.get("PYTHONPATH"):
        paths.append(environment["PYTHONPATH"])
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    environment.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    return environment


def children_cpu_seconds() -> float:
    """User plus system CPU time of every finished child process so far (their own children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_one_synth(kind: str) -> dict[str, float]:
    """Synthesize the ``kind`` stack in a fresh child process.

    :returns: the child's wall time (``total_s``) and CPU time (``cpu_s``) seen from here, and the
        ``import_s`` and ``build_s`` it measured itself.
    """
    with tempfile.TemporaryDirectory(prefix=f"synth-time-{kind}-") as outdir:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--outdir", outdir]
        cpu_before = children_cpu_seconds()
        started = time.perf_counter()
        finished = subprocess.run(command, capture_output=True, text=True, env=child_environment(),
                                  cwd=REPO_ROOT, check=False)
        total = time.perf_counter() - started
        cpu = children_cpu_seconds() - cpu_before
    if finished.returncode != 0:
        raise RuntimeError(f"synthesizing the {kind} stack failed (exit {finished.returncode}):\n"
                           + finished.stderr[-4000:])
    # The last line: anything the CDK printed comes before the child's own JSON.
    child_times = json.loads(finished.stdout.strip().splitlines()[-1])
    return {"total_s": total, "cpu_s": cpu, **child_times}


def measure_synth(runs: int = 3) -> dict[str, float | int]:
    """Median synth times of the reference stack and ``NeoRecommenderStack``, and their ratios (neo / reference).

    :param runs: child processes per stack kind, interleaved (reference, neo, bare). @default 3
    :returns: ``reference_total_s``, ``neo_total_s``, ``total_ratio`` (whole child process),
        ``reference_build_s``, ``neo_build_s``, ``build_ratio`` (``App()`` to ``app.synth()``),
        ``reference_cpu_s``, ``neo_cpu_s``, ``cpu_ratio`` (CPU time of the whole child process),
        ``reference_import_s``, ``neo_import_s`` (loading the CDK in the child), the same three times and ratios
        of the stack without cdk-nag (``bare_total_s``, ``bare_total_ratio``, ``bare_build_s``, ...),
        ``nag_total_s`` and ``nag_cpu_s`` (neo's median less bare's: what cdk-nag adds) and ``runs``.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    kinds = (REFERENCE, NEO, BARE)
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for kind in kinds:  # untimed: writes the compiled modules every later synth reads, as a first does
        time_one_synth(kind)
    for _ in range(runs):
        for kind in kinds:
            samples[kind].append(time_one_synth(kind))

    def median(kind: str, measure: str) -> float:
        return statistics.median(sample[measure] for sample in samples[kind])

    result: dict[str, float | int] = {}
    for measure, label in (("total_s", "total"), ("build_s", "build"), ("cpu_s", "cpu")):
        reference, neo, bare = median(REFERENCE, measure), median(NEO, measure), median(BARE, measure)
        result[f"reference_{label}_s"] = round(reference, 3)
        result[f"neo_{label}_s"] = round(neo, 3)
        result[f"{label}_ratio"] = round(neo / reference, 2)
        result[f"bare_{label}_s"] = round(bare, 3)
        result[f"bare_{label}_ratio"] = round(bare / reference, 2)
    result["nag_total_s"] = round(result["neo_total_s"] - result["bare_total_s"], 3)
    result["nag_cpu_s"] = round(result["neo_cpu_s"] - result["bare_cpu_s"], 3)
    result["reference_import_s"] = round(median(REFERENCE, "import_s"), 3)
    result["neo_import_s"] = round(median(NEO, "import_s"), 3)
    result["runs"] = runs
    return result


def main(argv: list[str] | None = None) -> None:
    """Print ``measure_synth``'s result as JSON; with ``--child``, be one measured child process instead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="child processes per stack (default 3)")
    parser.add_argument("--child", choices=[REFERENCE, NEO, BARE], help=argparse.SUPPRESS)
    parser.add_argument("--outdir", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        print(json.dumps(synthesize_in_this_process(arguments.child, arguments.outdir)))
    else:
        print(json.dumps(measure_synth(arguments.runs), indent=2))


if __name__ == "__main__":
    main()
