"""The wheel as a user gets it: built, installed into a fresh venv outside the repo, used by a consumer app.

The consumer app is the README's own composing example, so the example is checked to work as written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

README = REPO / "README.md"


def consumer_app() -> str:
    """The README's example of composing the construct into an existing app (its own bucket, topic, key)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Using the construct in your own app"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("```\n", section.index("```python"))]
    assert "InferenceRecommenderPipeline(" in code and "bucket=" in code and "topic=" in code
    return ("import json\nimport neo_recommender\n" + code
            + 'print(json.dumps({"imported_from": neo_recommender.__file__}))\n')


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once for the module."""
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist),
          str(REPO)], cwd=dist)
    (built,) = dist.glob("neo_recommender-*.whl")
    return built


def _fresh_venv(venv: Path) -> Path:
    """A fresh venv's python. The venv gets no pip of its own (``ensurepip`` takes 4 of a test's 25 s): the test's
    pip installs into it (``pip --python``), as ``uv pip install`` would; what lands in site-packages is the same."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent)
    return venv / "bin" / "python"


def _pip_install(python: Path, *requirements: str) -> None:
    """``pip install`` into the venv of ``python``, from the package index, with dependencies."""
    # --no-compile: pip's byte-compiling of aws-cdk-lib takes most of an install and changes nothing a test sees.
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--disable-pip-version-check",
          "--no-compile", *requirements], cwd=python.parents[2])


def _consumer_env(app: Path) -> dict[str, str]:
    """A user's environment: no PYTHONPATH, and bytecode written as Python writes it by default (the first import of
    aws-cdk-lib's modules compiles them, 6 s of a synthesis; the later commands read what it wrote)."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["CDK_OUTDIR"] = str(app / "cdk.out")
    return env


def test_wheel_carries_the_library_cli_and_lambda_code_into_a_consumer_app(wheel: Path, tmp_path: Path) -> None:
    venv, app = tmp_path / "venv", tmp_path / "consumer"

    # A fresh venv, and the wheel installed into it the way users install it: with its dependencies
    # (aws-cdk-lib, boto3, ...) from the package index, all in one site-packages. (An earlier version put the
    # dependencies in another site-packages through a .pth file and missed that the Lambda code's import
    # closure walked into botocore, dateutil and six there: a pip-installed construct could not synthesize.)
    python = _fresh_venv(venv)
    fresh_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           cwd=tmp_path).strip())
    _pip_install(python, str(wheel))
    env = _consumer_env(app)
    located = _run([str(python), "-c", "import aws_cdk, boto3, botocore, constructs; "
                    "print(aws_cdk.__file__, boto3.__file__, botocore.__file__, constructs.__file__)"], cwd=tmp_path,
                   env=env)
    assert all(path.startswith(str(fresh_site)) for path in located.split()), located

    app.mkdir()
    (app / "app.py").write_text(consumer_app())
    out = _run([str(python), "app.py"], cwd=app, env=env)
    imported_from = json.loads(out.strip().splitlines()[-1])["imported_from"]
    assert imported_from.startswith(str(fresh_site)), imported_from  # the installed copy, not the checkout

    template = json.loads((app / "cdk.out" / "MlPlatform.template.json").read_text())
    functions = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    handlers = {r["Properties"]["Handler"].split(".")[2] for r in functions.values()}
    shipped = {path.stem for path in (REPO / "lambdas" / "neo_runtime" / "handlers").glob("*.py")} - {"__init__"}
    assert handlers == shipped  # one function per handler module
    assert len([r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]) == 1
    # The results topic and the alarm topic, both on the app's key (no key of the pipeline's own).
    assert len([r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Topic"]) == 2
    assert len([r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]) == 1
    manifest = json.loads((app / "cdk.out" / "MlPlatform.assets.json").read_text())["files"]
    shipped_by_handler = {}
    for function in functions.values():  # one asset per function, staged from the installed package
        asset_dir = app / "cdk.out" / manifest[function["Properties"]["Code"]["S3Key"].removesuffix(".zip")][
            "source"]["path"]
        assert sorted(p.name for p in asset_dir.iterdir()) == ["neo_runtime"]
        handler = function["Properties"]["Handler"].split(".")[2]
        shipped_by_handler[handler] = {p.relative_to(asset_dir).as_posix() for p in asset_dir.rglob("*") if p.is_file()}
        assert f"neo_runtime/handlers/{handler}.py" in shipped_by_handler[handler]
    assert {"neo_runtime/manifest.schema.json", "neo_runtime/realtime_instance_types.json"} <= shipped_by_handler[
        "validate_submission"]
    assert not any("__pycache__" in path or path.endswith(".pyc") for files in shipped_by_handler.values()
                   for path in files)

    # Packaging a user sees: metadata, typing marker, license, version, and the CLI without its extras.
    metadata = json.loads(_run([str(python), "-c", "import json, importlib.metadata as m; d = m.metadata("
                                "'neo-recommender'); print(json.dumps({'version': d['Version'], "
                                "'classifiers': d.get_all('Classifier'), 'requires': d.get_all('Requires-Dist'), "
                                "'licenses': d.get_all('License-File'), 'content_type': d['Description-Content-Type'], "
                                "'description': d.get_payload()}))"], cwd=tmp_path))
    from neo_recommender import __version__  # noqa: PLC0415

    assert metadata["version"] == __version__ and "Framework :: AWS CDK :: 2" in metadata["classifiers"]
    assert metadata["licenses"] == ["LICENSE"] and not any("cdk-nag" in r for r in metadata["requires"])
    # PyPI renders the README as Markdown only if the metadata says so; it is the README, as tests/infrastructure/
    # test_docs.py checks it (no mermaid, absolute links).
    assert metadata["content_type"] == "text/markdown"
    assert metadata["description"].strip() == README.read_text(encoding="utf-8").strip()
    assert (fresh_site / "neo_recommender" / "py.typed").is_file()
    cli = str(venv / "bin" / "neo-recommender")
    assert _run([cli, "--version"], cwd=app, env=env).strip() == f"neo-recommender {__version__}"
    for command in ("submit", "status", "results", "validate"):  # the cli subpackage is in the wheel
        assert "--format" in _run([cli, command, "--help"], cwd=app, env=env) or command == "submit"
    demo = subprocess.run([cli, "demo"], cwd=app, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert demo.returncode == 2 and "pip install 'neo-recommender[demo]'" in demo.stderr, demo.stderr

    # With the extra it names, the demo runs the whole pipeline (no chart: that is the chart extra). Its assembly
    # cache is a folder of the test's, so a user's cache is neither read nor written.
    _pip_install(python, f"{wheel}[demo]")
    demo = subprocess.run([cli, "demo"], cwd=app, env={**env, "NEO_RECOMMENDER_CACHE": str(tmp_path / "cache")},
                          capture_output=True, text=True, timeout=300, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Recommended: ml.c5.xlarge x1 (Neo-compiled" in demo.stdout and ", 0 denied." in demo.stdout
    assert "no chart (matplotlib is not installed; install the chart extra" in demo.stdout


#: boto3 1.26.31 requires botocore>=1.29.31,<1.30.0; pip alone would take the newest 1.29.x, not the lowest.
LOWEST_BOTOCORE = "1.29.31"


def declared_minimums() -> dict[str, str]:
    """The ``>=`` minimum of each dependency pyproject.toml declares."""
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    minimums = {}
    for requirement in dependencies:
        name, _, rest = requirement.partition(">=")
        minimums[name.strip()] = rest.split(",")[0].strip()
    return minimums


def test_the_lowest_declared_versions_install_and_synthesize(wheel: Path, tmp_path: Path) -> None:
    minimums = declared_minimums()
    assert set(minimums) == {"aws-cdk-lib", "constructs", "boto3"}
    venv, app = tmp_path / "venv", tmp_path / "consumer"
    python = _fresh_venv(venv)
    pins = [f"{name}=={version}" for name, version in minimums.items()] + [f"botocore=={LOWEST_BOTOCORE}"]
    _pip_install(python, str(wheel), *pins)
    installed = json.loads(_run([str(python), "-c", "import json, importlib.metadata as m; print(json.dumps("
                                 "{n: m.version(n) for n in ('aws-cdk-lib', 'constructs', 'boto3', 'botocore')}))"],
                                cwd=tmp_path))
    assert installed == {**minimums, "botocore": LOWEST_BOTOCORE}

    env = _consumer_env(app)
    app.mkdir()
    (app / "app.py").write_text(consumer_app())
    _run([str(python), "app.py"], cwd=app, env=env)
    template = json.loads((app / "cdk.out" / "MlPlatform.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 9 and all(f["Properties"]["LoggingConfig"]["LogFormat"] == "JSON" for f in functions)
    cli = str(venv / "bin" / "neo-recommender")
    _run([cli, "init", "--framework", "xgboost", "-o", str(app / "recommend.json")], cwd=app, env=env)
    assert "valid" in _run([cli, "validate", str(app / "recommend.json"), "--region", "us-east-1"], cwd=app, env=env)
