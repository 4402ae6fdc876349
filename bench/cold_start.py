"""Cold start of the Lambda handlers and size of their Lambda assets.

Cold start is measured as the time a fresh interpreter (a new ``sys.executable`` process) takes to
import a handler, as a ratio against ``import boto3`` alone (which every handler needs, and which
the Lambda Python runtime ships precompiled). The target of the performance issue is a ratio of at
most 1.1. Each child imports boto3 first, timed, and then the handler, so the ratio is the whole
import (boto3 and the handler's own modules) over its boto3 part in the same interpreter. Timed
in separate interpreters, the two differed by up to 0.05 from run to run, as much as the handlers'
own modules weigh (4 to 11 ms under ``-X importtime``): process-to-process noise, and boto3 imported
from deeper in the stack when a handler pulls it in (see ``measure_imports``).

Two modes are measured:

- ``warm_bytecode``: a normal interpreter with ``__pycache__`` present (the best case, as on a
  developer's machine after the first run).
- ``no_bytecode``: as on AWS Lambda, where ``/var/task`` is read-only and the asset ships no
  ``.pyc`` files, so ``neo_runtime`` is compiled from source at every cold start while boto3
  comes precompiled. Each handler is imported from its function's own asset folder (staged by
  ``neo_recommender.lambda_code``, no ``__pycache__``) and the child runs with ``-B``
  (``PYTHONDONTWRITEBYTECODE=1``), so nothing is ever cached.

In a development venv, ``site`` (with setuptools' editable-install finder) loads a few stdlib modules
such as ``pathlib`` before the clock starts; boto3 would load them anyway, so the ratios hold.

Each function ships its own asset: the files of ``neo_runtime`` its handler can load
(``neo_recommender.import_closure``), staged by ``neo_recommender.lambda_code.handler_asset_dir`` as
synth stages them. The size counts each asset's files and their size zipped with deflate; the
figure held against the target is the largest asset's. The whole package's size is reported
beside it, for what one shared asset would weigh.

Run it with ``.venv/bin/python bench/cold_start.py`` (``--runs N`` to change the sample count).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The checkout's Lambda code (``lambdas/``) and the package in it.
LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
PACKAGE_DIR = LAMBDAS_DIR / "neo_runtime"
#: Never part of an asset.
EXCLUDED_DIRS = frozenset({"__pycache__"})
EXCLUDED_SUFFIXES = frozenset({".pyc"})
#: The baseline every handler is compared with.
BASELINE = "boto3"
#: The issue's targets.
TARGET_RATIO = 1.1
TARGET_ASSET_BYTES = 200_000

#: Python call-stack depths the imports are made from, one per run in turn (see ``measure_imports``).
STACK_DEPTHS = (0, 30, 60, 90, 120, 150, 180)

# The child imports nothing before the clock starts but what the interpreter has loaded anyway. From
# ``depth`` nested calls it imports boto3, then the module, timing each, and prints JSON: wall and CPU
# milliseconds of both parts, and where the module came from (to prove which copy was measured).
_CHILD = (
    "import importlib, sys, time\n"
    "name, depth = sys.argv[1], int(sys.argv[2])\n"
    "def nested(level, target):\n"
    "    return importlib.import_module(target) if level == 0 else nested(level - 1, target)\n"
    "start, cpu = time.perf_counter(), time.process_time()\n"
    "nested(depth, 'boto3')\n"
    "boto3_ms, boto3_cpu_ms = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000\n"
    "module = nested(depth, name)\n"
    "elapsed, cpu = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000\n"
    "import json\n"
    "print(json.dumps({'ms': elapsed, 'cpu_ms': cpu, 'boto3_ms': boto3_ms, 'boto3_cpu_ms': boto3_cpu_ms,\n"
    "                  'file': getattr(module, '__file__', None) or ''}))\n"
)


def handler_modules(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every handler module, ``neo_runtime.handlers.<name>``, found in the package's ``handlers`` folder."""
    return [f"neo_runtime.handlers.{path.stem}" for path in sorted((package_dir / "handlers").glob("*.py"))
            if path.stem != "__init__"]


def shipped_files(folder: Path) -> list[Path]:
    """The files under ``folder`` that an asset of it ships, sorted."""
    return sorted(path for path in folder.rglob("*")
                  if path.is_file() and not EXCLUDED_DIRS.intersection(path.relative_to(folder).parts)
                  and path.suffix not in EXCLUDED_SUFFIXES)


def handler_asset_dirs() -> dict[str, Path]:
    """Handler module -> its function's asset folder, staged as synth stages it."""
    from neo_recommender.lambda_code import handler_asset_dir  # noqa: PLC0415 - keeps the module light to import

    return {module: handler_asset_dir(module) for module in handler_modules()}


def folder_size(folder: Path) -> dict[str, int]:
    """Files and bytes under ``folder`` as shipped, and the size of their zip (deflate, like the CDK's asset zip)."""
    import io  # noqa: PLC0415 - only this function needs them; keeps the module light to import
    import zipfile  # noqa: PLC0415 - as above

    files = shipped_files(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files),
            "zip_bytes": len(buffer.getvalue())}


def asset_size() -> dict[str, object]:
    """Each function's asset, and the largest of them (the figure held against the target).

    Returns ``{"files", "bytes", "zip_bytes", "largest", "functions": {handler: {"files", "bytes",
    "zip_bytes"}}, "package": {...}}``: the top-level figures are the largest asset's; ``package`` is
    the whole ``neo_runtime`` package, for what one shared asset would weigh.
    """
    functions = {module.rpartition(".")[2]: folder_size(folder) for module, folder in handler_asset_dirs().items()}
    largest = max(functions, key=lambda name: functions[name]["bytes"])
    return {**functions[largest], "largest": largest, "functions": functions, "package": folder_size(LAMBDAS_DIR)}


def measure_imports(runs: int = 7) -> dict[str, object]:
    """Median import time of every handler in fresh interpreters, and its ratio to boto3's part, in both modes.

    Each sample is one child process that imports boto3 and then the handler; the handlers are
    measured interleaved (every handler, then again), so drift in the machine's load affects them
    alike, and each ratio is a median of the children's own ratios. Run ``i`` imports every module
    from ``STACK_DEPTHS[i % len(STACK_DEPTHS)]`` nested calls: CPython (3.11 to 3.13 at least) frees
    a frame-stack chunk as soon as the stack shrinks below it, so an import tree as deep as boto3's
    can map and unmap one chunk thousands of times when its depth happens to straddle a chunk
    boundary. That cost comes from the call depth, not from the code imported: ``import boto3``
    alone takes 6,500 to 12,800 page faults and up to about 45 ms more CPU depending on the depth
    it starts from. Lambda's own depth is fixed but unknown, so every module is sampled at the same
    spread of depths. ``ms`` and ``ratio`` are wall
    time, the issue's measure; ``cpu_ms`` and ``cpu_ratio`` are the child's CPU time, which a busy
    machine disturbs far less (use them to compare runs taken under different load). Returns::

        {"runs": 7, "python": "3.11.7", "target_ratio": 1.1,
         "modes": {"warm_bytecode": {"boto3_ms": 80.1, "boto3_cpu_ms": 78.0, "max_ratio": 1.3,
                                     "handlers": {"validate_submission": {"ms": 104.0, "ratio": 1.3,
                                                                          "cpu_ms": 101.2, "cpu_ratio": 1.3}, ...}},
                   "no_bytecode": {...}}}
    """
    modules = handler_modules()
    result: dict[str, object] = {"runs": runs, "python": sys.version.split()[0], "target_ratio": TARGET_RATIO}
    modes: dict[str, object] = {}
    # Warm bytecode: one unmeasured import of each module first writes (or refreshes) __pycache__.
    for module in modules:
        _import_time(module, LAMBDAS_DIR, no_bytecode=False)
    modes["warm_bytecode"] = _summarise(_sample({module: LAMBDAS_DIR for module in modules}, runs,
                                                no_bytecode=False))
    modes["no_bytecode"] = _summarise(_sample(handler_asset_dirs(), runs, no_bytecode=True))
    result["modes"] = modes
    return result


#: One child's timings: wall and CPU ms of the whole import, and of its boto3 part.
Sample = dict[str, float]


def _sample(roots: dict[str, Path], runs: int, *, no_bytecode: bool) -> dict[str, list[Sample]]:
    """``runs`` timings of each module (imported from the folder ``roots`` gives it), taken interleaved."""
    samples: dict[str, list[Sample]] = {name: [] for name in roots}
    for run in range(runs):
        depth = STACK_DEPTHS[run % len(STACK_DEPTHS)]
        for name, times in samples.items():
            times.append(_import_time(name, roots[name], no_bytecode=no_bytecode, depth=depth))
    return samples


def _import_time(module: str, root: Path, *, no_bytecode: bool, depth: int = 0) -> Sample:
    """A fresh interpreter's timings of ``import boto3`` and then ``module`` (``neo_runtime`` under ``root``)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable]
    if no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        command.append("-B")
    import json  # noqa: PLC0415 - keeps the module light to import

    output = json.loads(subprocess.run([*command, "-c", _CHILD, module, str(depth)], env=env, check=True,
                                       capture_output=True, text=True).stdout)
    if module != BASELINE and not Path(output["file"]).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"{module} was imported from {output['file']}, not from {root}")
    return {key: output[key] for key in ("ms", "cpu_ms", "boto3_ms", "boto3_cpu_ms")}


def _summarise(samples: dict[str, list[Sample]]) -> dict[str, object]:
    """Medians of each handler's whole import and of the ratio to its own boto3 part; boto3's median over all."""
    handlers = {}
    for name, times in samples.items():
        handlers[name.rpartition(".")[2]] = {
            "ms": round(_median([sample["ms"] for sample in times]), 1),
            "ratio": round(_median([sample["ms"] / sample["boto3_ms"] for sample in times]), 2),
            "cpu_ms": round(_median([sample["cpu_ms"] for sample in times]), 1),
            "cpu_ratio": round(_median([sample["cpu_ms"] / sample["boto3_cpu_ms"] for sample in times]), 2),
        }
    every = [sample for times in samples.values() for sample in times]
    return {"boto3_ms": round(_median([sample["boto3_ms"] for sample in every]), 1),
            "boto3_cpu_ms": round(_median([sample["boto3_cpu_ms"] for sample in every]), 1),
            "max_ratio": max((figures["ratio"] for figures in handlers.values()), default=0.0),
            "handlers": handlers}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _print_report(imports: dict[str, object], size: dict[str, object]) -> None:
    """Both measurements as a readable report."""
    print(f"Cold start: median of {imports['runs']} fresh interpreters, Python {imports['python']}, "
          f"target ratio <= {TARGET_RATIO}")
    for mode, summary in imports["modes"].items():  # type: ignore[attr-defined]
        print(f"\n{mode}: import boto3 = {summary['boto3_ms']} ms (CPU {summary['boto3_cpu_ms']} ms)")
        for name, figures in summary["handlers"].items():
            print(f"  {name:<22} {figures['ms']:>7.1f} ms  {figures['ratio']:.2f}x"
                  f"   (CPU {figures['cpu_ms']:>7.1f} ms  {figures['cpu_ratio']:.2f}x)")
    print("\nAssets (one per function):")
    for name, figures in size["functions"].items():  # type: ignore[attr-defined]
        print(f"  {name:<22} {figures['files']:>3} files {figures['bytes']:>8,} B  {figures['zip_bytes']:>7,} B zipped")
    verdict = "under" if size["bytes"] < TARGET_ASSET_BYTES else "over"  # type: ignore[operator]
    print(f"Largest: {size['largest']}, {size['bytes']:,} bytes ({verdict} the {TARGET_ASSET_BYTES:,}-byte target); "
          f"the whole package: {size['package']['bytes']:,} bytes")  # type: ignore[index]


if __name__ == "__main__":
    import argparse  # noqa: PLC0415 - the command line only

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per module and mode (default 7)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    arguments = parser.parse_args()
    figures, sizes = measure_imports(arguments.runs), asset_size()
    if arguments.json:
        import json  # noqa: PLC0415 - the command line only

        print(json.dumps({"imports": figures, "asset": sizes}, indent=2))
    else:
        _print_report(figures, sizes)
