"""Each Lambda function ships only the part of neo_runtime its handler loads, and nothing it needs is left out."""

from __future__ import annotations

import ast
import json
import modulefinder
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from neo_recommender.emulator.lambda_runner import check_code_package
from neo_recommender.function_settings import SUPPORTED_RUNTIMES
from neo_recommender.import_closure import closure

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "lambdas" / "neo_runtime"
ASSET_LIMIT_BYTES = 200_000  # issue 7's target for the Lambda asset


def function_assets(synthesized: Any) -> dict[str, Path]:
    """Handler module -> the folder of the function's code asset in the synthesized assembly."""
    manifest = json.loads((synthesized.assembly_dir / "NeoRecommenderStack.assets.json").read_text())["files"]
    assets = {}
    for resource in synthesized.template_json["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            key = resource["Properties"]["Code"]["S3Key"]
            source = manifest[key.removesuffix(".zip")]["source"]["path"]
            assets[resource["Properties"]["Handler"].rpartition(".")[0]] = synthesized.assembly_dir / source
    return assets


def shipped_files(folder: Path) -> dict[str, int]:
    return {path.relative_to(folder).as_posix(): path.stat().st_size for path in folder.rglob("*") if path.is_file()}


def test_each_function_ships_its_own_part_of_the_package_under_the_size_target(synthesized: Any) -> None:
    assets = function_assets(synthesized)
    handlers = {f"neo_runtime.handlers.{path.stem}" for path in (PACKAGE / "handlers").glob("*.py")} - {
        "neo_runtime.handlers.__init__"}
    assert set(assets) == handlers
    assert len(set(assets.values())) == len(assets)  # one asset per function
    for handler, folder in assets.items():
        files = shipped_files(folder)
        assert sum(files.values()) < ASSET_LIMIT_BYTES, (handler, sum(files.values()))
        assert f"{handler.replace('.', '/')}.py" in files
        other_handlers = {name for name in files if name.startswith("neo_runtime/handlers/")} - {
            f"{handler.replace('.', '/')}.py", "neo_runtime/handlers/__init__.py"}
        # record_ended_run records a failure the way the workflow's record_failure step does.
        assert other_handlers <= {"neo_runtime/handlers/record_failure.py"}, (handler, other_handlers)
        assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)
        for name in files:  # byte for byte the checkout's files
            assert (folder / name).read_bytes() == (REPO / "lambdas" / name).read_bytes()


def test_a_step_that_reads_no_archive_ships_no_archive_code(synthesized: Any) -> None:
    assets = function_assets(synthesized)
    check_job = shipped_files(assets["neo_runtime.handlers.check_job"])
    assert "neo_runtime/archive_reader.py" not in check_job and "neo_runtime/manifest.schema.json" not in check_job
    validate = shipped_files(assets["neo_runtime.handlers.validate_submission"])
    assert {"neo_runtime/archive_reader.py", "neo_runtime/manifest.schema.json",
            "neo_runtime/realtime_instance_types.json"} <= set(validate)


def test_modulefinder_finds_every_import_of_each_asset_inside_it(synthesized: Any) -> None:
    """An independent reading (the standard library's bytecode scan, lazy imports included) of each asset."""
    for handler, folder in function_assets(synthesized).items():
        finder = modulefinder.ModuleFinder(path=[str(folder)])
        finder.import_hook(handler)
        # modulefinder reads bytecode, so it also sees imports under "if TYPE_CHECKING:", which never run (the
        # asset leaves those modules out); any other import it cannot satisfy from the asset is missing.
        typing_only = _imported_only_for_type_checking(folder)
        missing = sorted(name for name in finder.badmodules if name.startswith("neo_runtime")
                         and name not in typing_only)
        assert missing == [], (handler, missing)
        shipped = {name for name in shipped_files(folder) if name.endswith(".py")}
        found = {Path(module.__file__).relative_to(folder).as_posix() for name, module in finder.modules.items()
                 if name.startswith("neo_runtime") and module.__file__}
        assert found == shipped, handler  # nothing shipped that is never imported either


def _imported_only_for_type_checking(folder: Path) -> set[str]:
    """Modules the asset's files import under ``if TYPE_CHECKING:`` and nowhere else."""
    typing_only: set[str] = set()
    elsewhere: set[str] = set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", getattr(block.test, "attr", None)) == "TYPE_CHECKING"
                   for statement in block.body for node in ast.walk(statement)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                (typing_only if id(node) in guarded else elsewhere).add(node.module)
    return typing_only - elsewhere


#: Where pyenv keeps its interpreters (``<version>/bin/python<major.minor>``).
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
#: Run by each runtime's interpreter: every asset in turn, with only the asset (then the interpreter's standard library,
#: then the test environment's site-packages, for boto3) on the path, imports all its modules from the asset.
#: ``neo_runtime``'s modules are dropped between assets, so each asset is imported whole from its own folder; one
#: interpreter start per runtime keeps the check cheap.
IMPORT_CHECK = """
import importlib, json, pathlib, sys
version, site_packages, assets = json.loads(sys.argv[1])
assert '%d.%d' % sys.version_info[:2] == version, sys.version
standard_path, failures = list(sys.path), []
for handler, folder, modules in assets:
    for name in [name for name in sys.modules if name.split('.')[0] == 'neo_runtime']:
        del sys.modules[name]
    sys.path[:] = [folder, *standard_path, site_packages]
    importlib.invalidate_caches()
    try:
        for name in modules:
            module = importlib.import_module(name)
            assert module.__file__.startswith(folder + '/'), module.__file__
            for value in vars(module).values():
                if isinstance(value, pathlib.Path) and str(value).startswith(folder + '/'):
                    assert value.is_file(), value
    except Exception as error:
        failures.append('%s: %s: %s' % (handler, type(error).__name__, error))
print(json.dumps(failures))
"""


def interpreter_of(runtime: str) -> str | None:
    """A Python of ``runtime``'s version on this machine: the one running the tests, pyenv's newest, or one on PATH."""
    version = runtime.removeprefix("python")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    installed = sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}"),
                       key=lambda path: [int(part) for part in path.parents[1].name.split(".") if part.isdigit()])
    return str(installed[-1]) if installed else shutil.which(f"python{version}")


@pytest.mark.parametrize("runtime", SUPPORTED_RUNTIMES)
def test_every_handler_imports_from_its_asset_alone(synthesized: Any, runtime: str) -> None:
    """Under each supported runtime's Python found on this machine, with only the asset on the path, as on Lambda:
    every module of each asset imports, and every file a module's globals point to inside the asset
    (``manifest.SCHEMA_PATH``) is there. A runtime without an interpreter here is only checked statically
    (``test_every_asset_imports_only_what_each_supported_runtime_has``)."""
    interpreter = interpreter_of(runtime)
    if interpreter is None:
        pytest.skip(f"no {runtime} interpreter on this machine (this Python, {PYENV_VERSIONS}/"
                    f"{runtime.removeprefix('python')}.*, PATH): its standard library is only checked statically")
    assets = [(handler, str(folder), sorted(name.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
                                            for name in shipped_files(folder) if name.endswith(".py")))
              for handler, folder in function_assets(synthesized).items()]
    # -I: no environment variables or user site-packages; -S: no site-packages of the interpreter's own (boto3 and
    # botocore come from this environment's, after the asset and the standard library); -B: no bytecode written into
    # the assets (a later test checks they ship none) or this environment.
    argument = json.dumps([runtime.removeprefix("python"), sysconfig.get_paths()["purelib"], assets])
    result = subprocess.run([interpreter, "-I", "-S", "-B", "-c", IMPORT_CHECK, argument], capture_output=True,
                            text=True, timeout=120, cwd=REPO, env={"PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == 0, (interpreter, result.stderr)
    assert json.loads(result.stdout) == [], interpreter


def test_the_runtime_imports_nothing_by_computed_name() -> None:
    """The closure follows import statements only, so the runtime must not import any other way."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(alias.name.split(".")[0] == "importlib" for alias in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "importlib", path
            if isinstance(node, ast.Name):
                assert node.id not in {"__import__", "exec", "eval"}, path


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_closure_follows_lazy_relative_and_submodule_imports_and_named_data_files(tmp_path: Path) -> None:
    root = write_package(tmp_path, {
        "pkg/__init__.py": "VERSION = 1\n",
        "pkg/handlers/__init__.py": "",
        "pkg/handlers/entry.py": "from pkg import VERSION, helpers\nfrom ..shapes import Shape\n"
                                 "def handler(event, context):\n    if event:\n"
                                 "        from pkg.lazy import later\n        return later()\n",
        "pkg/helpers.py": "import json\nimport boto3\nfrom . import util as u\n",
        "pkg/util.py": "NAME = 'x'\n",
        "pkg/shapes.py": "from pathlib import Path\nSCHEMA = Path(__file__).with_name(\"shape.json\")\n",
        "pkg/lazy.py": "def later():\n    try:\n        import pkg.deep\n    except ImportError:\n        pass\n",
        "pkg/deep.py": "",
        "pkg/unused.py": "import pkg.deep\n",
        "pkg/shape.json": "{}",
        "pkg/other.json": "{}",
    })
    found = closure(root, "pkg.handlers.entry")
    assert found.missing == ()
    assert found.files == ("pkg/__init__.py", "pkg/deep.py", "pkg/handlers/__init__.py", "pkg/handlers/entry.py",
                           "pkg/helpers.py", "pkg/lazy.py", "pkg/shape.json", "pkg/shapes.py", "pkg/util.py")


def test_closure_stays_in_its_own_package_when_it_shares_site_packages(tmp_path: Path) -> None:
    # A user's venv: neo_runtime beside botocore, dateutil and six, whose imports (some only resolvable at run
    # time, e.g. six.moves) are not the Lambda code's business; neither are their data files.
    root = write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/entry.py": "import boto3\nimport six\nfrom pkg import rules\n",
        "pkg/rules.py": "SCHEMA = 'rules.json'\n",
        "pkg/rules.json": "{}",
        "six/__init__.py": "from six.moves import range\n",
        "boto3/__init__.py": "import botocore.customizations.useragent\n",
        "boto3/rules.json": "{}",
    })
    found = closure(root, "pkg.entry")
    assert found.missing == ()
    assert found.files == ("pkg/__init__.py", "pkg/entry.py", "pkg/rules.json", "pkg/rules.py")


def test_closure_reports_a_module_the_package_lacks(tmp_path: Path) -> None:
    root = write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/entry.py": "from pkg import gone\nfrom pkg.present import anything\n"
                        "def f():\n    import pkg.also_gone\n",
        "pkg/present.py": "",
    })
    assert closure(root, "pkg.entry").missing == ("pkg.also_gone", "pkg.gone")


def test_the_emulator_fails_a_function_whose_package_lacks_a_module_it_imports(tmp_path: Path,
                                                                               synthesized: Any) -> None:
    folder = function_assets(synthesized)["neo_runtime.handlers.start_job"]
    copy = Path(shutil.copytree(folder, tmp_path / "start_job"))
    (copy / "neo_runtime" / "job_slots.py").unlink()  # imported lazily, only with a job limit
    with pytest.raises(RuntimeError, match=r"Runtime.ImportModuleError: .*neo_runtime.job_slots"):
        check_code_package("StartRecommendationJob", copy, "neo_runtime.handlers.start_job")
    check_code_package("StartRecommendationJob", folder, "neo_runtime.handlers.start_job")


def test_the_emulator_refuses_a_package_that_differs_from_the_code_it_runs(tmp_path: Path, synthesized: Any) -> None:
    folder = function_assets(synthesized)["neo_runtime.handlers.check_job"]
    copy = Path(shutil.copytree(folder, tmp_path / "check_job"))
    (copy / "neo_runtime" / "job_watch.py").write_text("# edited after synth\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"job_watch.py differs from .* in the deployed code package"):
        check_code_package("CheckRecommendationJob", copy, "neo_runtime.handlers.check_job")


def test_code_is_staged_in_a_private_folder_never_in_a_shared_guessable_one() -> None:
    # The code used to be staged in /tmp/neo-recommender-asset-<hash of public code>, and a folder that already
    # existed there was reused unchecked: anyone on a shared runner could plant code that then shipped to Lambda.
    import stat  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from neo_recommender.lambda_code import handler_asset_dir, runtime_package_dir  # noqa: PLC0415

    staged = handler_asset_dir("neo_runtime.handlers.check_job")
    private_root = staged.parent
    assert private_root.parent == Path(tempfile.gettempdir())
    assert private_root.name.startswith("neo-recommender-assets-")
    assert stat.S_IMODE(private_root.stat().st_mode) == 0o700  # mkdtemp: a fresh name, its owner only
    expected = closure(runtime_package_dir().parent, "neo_runtime.handlers.check_job").files
    assert tuple(sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())) == expected


#: Standard-library modules each Lambda Python runtime no longer has, beyond 3.11: PEP 632 and PEP 594
#: (https://peps.python.org/pep-0594/#deprecated-modules, removed in 3.12 and 3.13;
#: https://docs.python.org/3/whatsnew/3.12.html#removed, .../3.13.html#removed). 3.14 removed no module
#: (https://docs.python.org/3/whatsnew/3.14.html#removed). The runtimes whose Python this machine has also run the
#: assets for real (``test_every_handler_imports_from_its_asset_alone``); this check is the only one for the others.
REMOVED_FROM_STDLIB = {
    "python3.11": set(),
    "python3.12": {"distutils", "imp", "asynchat", "asyncore", "smtpd"},
    "python3.13": {"distutils", "imp", "asynchat", "asyncore", "smtpd", "aifc", "audioop", "cgi", "cgitb", "chunk",
                   "crypt", "imghdr", "mailcap", "msilib", "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd",
                   "sunau", "telnetlib", "uu", "xdrlib", "lib2to3"},
}
REMOVED_FROM_STDLIB["python3.14"] = REMOVED_FROM_STDLIB["python3.13"]


def test_every_asset_imports_only_what_each_supported_runtime_has(synthesized: Any) -> None:
    assert set(SUPPORTED_RUNTIMES) == set(REMOVED_FROM_STDLIB)  # a runtime offered is a runtime checked
    for handler, folder in function_assets(synthesized).items():
        imported: set[str] = set()
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 11))  # parses on the oldest
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
        standard = {name for name in imported if name in sys.stdlib_module_names}
        assert imported - standard <= {"neo_runtime", "boto3", "botocore"}, handler  # what every runtime provides
        for runtime, removed in REMOVED_FROM_STDLIB.items():
            assert not standard & removed, (handler, runtime, standard & removed)
