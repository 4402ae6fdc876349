"""``submit``'s file handling and uploads, and ``status``/``--wait``'s reading of a run (moto, no emulator).

The whole commands run against the deployed stack in tests/e2e/test_results_access.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from neo_recommender import samples
from neo_recommender.cli import main
from neo_recommender.cli.follow import RunState, follow, queue_place, run_state
from neo_recommender.cli.problems import NotOk, UsageError
from neo_recommender.cli.submit import Destination, UploadProgress, human_size, local_submission, upload
from neo_runtime import naming
from neo_runtime.records import to_attribute_values

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def _folder(tmp_path: Path, **manifest_fields: Any) -> Path:
    (tmp_path / "model.tar.gz").write_bytes(samples.xgboost_model_archive())
    (tmp_path / "payload.tar.gz").write_bytes(samples.csv_payload_archive())
    manifest = {**samples.xgboost_manifest("xgb-local"), **manifest_fields}
    (tmp_path / "recommend.json").write_text(json.dumps(manifest))
    return tmp_path / "recommend.json"


def test_archives_are_found_next_to_the_manifest_under_the_names_it_gives(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    (tmp_path / "weights.tar.gz").write_bytes(b"x")
    submission = local_submission({"ModelArchive": "weights.tar.gz"}, manifest, {})
    assert submission.archives == {"ModelArchive": (tmp_path / "weights.tar.gz", "weights.tar.gz"),
                                   "PayloadArchive": (tmp_path / "payload.tar.gz", "payload.tar.gz")}
    elsewhere = tmp_path / "elsewhere.tar.gz"
    elsewhere.write_bytes(b"y")
    explicit = local_submission({}, manifest, {"ModelArchive": elsewhere})
    assert explicit.archives["ModelArchive"] == (elsewhere, "model.tar.gz")  # uploaded under the name it is read by


def test_an_archive_already_in_s3_is_not_uploaded(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    submission = local_submission({"PayloadArchive": "s3://bucket/models/x/payload.tar.gz"}, manifest, {})
    assert set(submission.archives) == {"ModelArchive"}
    assert submission.notes == ("PayloadArchive is s3://bucket/models/x/payload.tar.gz: already in S3, not uploaded",)


def test_a_missing_archive_names_the_flag_unless_forced(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    (tmp_path / "model.tar.gz").unlink()
    with pytest.raises(UsageError, match="ModelArchive: no file at .*give --model FILE"):
        local_submission({}, manifest, {})
    forced = local_submission({}, manifest, {}, allow_missing=True)
    assert set(forced.archives) == {"PayloadArchive"} and "must already be in the folder" in forced.notes[0]


@pytest.mark.usefixtures("aws")
def test_upload_sends_large_models_multipart_and_names_the_run_as_the_pipeline_does(tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="submissions")
    s3.put_bucket_versioning(Bucket="submissions", VersioningConfiguration={"Status": "Enabled"})
    manifest = _folder(tmp_path)
    big = tmp_path / "model.tar.gz"
    big.write_bytes(bytes(range(256)) * (10 * 4096))  # 10 MiB: above the 8 MiB multipart threshold
    out = io.StringIO()
    submitted = upload(s3, local_submission({}, manifest, {}), Destination("submissions", "models/", "xgb-local"),
                       UploadProgress(out, live=False))
    model = s3.head_object(Bucket="submissions", Key="models/xgb-local/model.tar.gz")
    assert model["ContentLength"] == 10 * 1024 * 1024 and "-" in model["ETag"]  # a multipart ETag ends in -<parts>
    stored = s3.head_object(Bucket="submissions", Key="models/xgb-local/recommend.json")
    assert submitted.version_id == stored["VersionId"]
    assert submitted.run_id == naming.run_id("submissions", "models/xgb-local/recommend.json", stored["VersionId"])
    assert out.getvalue().splitlines() == [
        "  uploaded model.tar.gz (10.0 MiB) to s3://submissions/models/xgb-local/model.tar.gz",
        f"  uploaded payload.tar.gz ({human_size((tmp_path / 'payload.tar.gz').stat().st_size)}) to "
        "s3://submissions/models/xgb-local/payload.tar.gz",
        f"  uploaded recommend.json ({human_size(manifest.stat().st_size)}) to "
        "s3://submissions/models/xgb-local/recommend.json"]


def test_progress_on_a_terminal_is_a_live_bar_with_sizes() -> None:
    out = io.StringIO()
    progress = UploadProgress(out, live=True)
    callback = progress.start("model.tar.gz", 4 * 1024 * 1024)
    callback(1024 * 1024)
    callback(1024 * 1024)
    assert out.getvalue().endswith("\r  model.tar.gz     [############............]    2.0 MiB / 4.0 MiB")
    progress.done("model.tar.gz", 4 * 1024 * 1024, "s3://b/k")
    assert out.getvalue().endswith("\r\033[K  uploaded model.tar.gz (4.0 MiB) to s3://b/k\n")
    assert [human_size(n) for n in (0, 1023, 1024, 5 * 1024 ** 3)] == ["0 B", "1023 B", "1.0 KiB", "5.0 GiB"]


def _states(*statuses: str | None) -> Iterator[RunState]:
    for number, status in enumerate(statuses):
        summary = None if status is None else {"status": status}
        yield RunState("r1", summary, f"run r1 · {status} · {number}m00s elapsed", {})


def test_following_prints_a_line_per_change_when_not_on_a_terminal() -> None:
    states = _states(None, "VALIDATING", "RUNNING", "RUNNING", "COMPLETED")
    out = io.StringIO()
    final = follow(lambda: next(states), out, interval=0, live=False, sleep=lambda _: None)
    assert final.status == "COMPLETED"
    assert out.getvalue().splitlines() == ["run r1 · None · 0m00s elapsed", "run r1 · VALIDATING · 1m00s elapsed",
                                           "run r1 · RUNNING · 2m00s elapsed", "run r1 · COMPLETED · 4m00s elapsed"]


def test_following_on_a_terminal_rewrites_one_line() -> None:
    states = _states("RUNNING", "FAILED")
    out = io.StringIO()
    assert follow(lambda: next(states), out, interval=0, live=True, sleep=lambda _: None).status == "FAILED"
    assert out.getvalue() == "\r\033[Krun r1 · RUNNING · 0m00s elapsed\r\033[Krun r1 · FAILED · 1m00s elapsed\n"


def test_following_a_run_the_pipeline_never_starts_says_what_to_check() -> None:
    never = RunState("r1", None, "run r1: not started yet", {})
    with pytest.raises(NotOk, match="WatchedPrefix and that its submission rule is enabled"):
        follow(lambda: never, io.StringIO(), interval=0, live=False, start_timeout=0, sleep=lambda _: None)


@pytest.mark.usefixtures("aws")
def test_a_queued_run_is_told_its_place_in_line() -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="results", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                     {"AttributeName": "sk", "KeyType": "RANGE"}])
    waiters = {run: {"since": f"2026-12-01T00:0{minute}:00+00:00", "seen": "2026-12-01T00:09:00+00:00"}
               for run, minute in (("late", 5), ("first", 1), ("second", 2))}
    # Each waiting run has an item of its own; a slots item an earlier version wrote may list waiters itself.
    dynamodb.put_item(TableName="results", Item={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"},
                                                 **to_attribute_values({"holders": {"h": "x"}, "version": 3,
                                                                        "waiters": {"second": waiters["second"]}})})
    for run in ("late", "first"):
        dynamodb.put_item(TableName="results", Item={"pk": {"S": "JOB_SLOT_QUEUE"}, "sk": {"S": f"nr-#{run}"},
                                                     **to_attribute_values(waiters[run])})
    dynamodb.put_item(TableName="results", Item={"pk": {"S": "JOB_SLOT_QUEUE"}, "sk": {"S": "other-#early"},
                                                 **to_attribute_values({"since": "2026"})})
    dynamodb.put_item(TableName="results", Item={"pk": {"S": "RUN#second"}, "sk": {"S": "SUMMARY"},
                                                 **to_attribute_values({"status": "QUEUED", "model_name": "m",
                                                                        "created_at": "2026-12-01T00:02:00+00:00",
                                                                        "updated_at": "2026-12-01T00:02:00+00:00"})})
    assert queue_place(dynamodb, "results", "second") == (2, 3)
    assert queue_place(dynamodb, "results", "holder-or-unknown") is None
    from datetime import datetime

    state = run_state(dynamodb, "results", "second", now=datetime.fromisoformat("2026-12-01T00:12:30+00:00"))
    assert state.line == "run second · QUEUED · m · position 2 of 3 in the queue · 10m30s elapsed"
    assert state.details["queue_position"] == 2 and not state.final


def _submission_target() -> list[str]:
    """A versioned bucket and a results table in moto, as the flags that name them (no stack needed)."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="submissions")
    s3.put_bucket_versioning(Bucket="submissions", VersioningConfiguration={"Status": "Enabled"})
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="results", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    return ["--bucket", "submissions", "--prefix", "models/", "--table", "results", "--region", REGION]


def _interrupt(*_: Any, **__: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.usefixtures("aws")
def test_ctrl_c_while_following_stops_following_and_names_the_run_that_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    target = _submission_target()
    monkeypatch.setattr("neo_recommender.cli.follow.follow", _interrupt)
    assert main(["submit", str(_folder(tmp_path).parent), "--wait", *target]) == 130
    out, err = capsys.readouterr()
    run_id = out.split("Submitted run ")[1].split()[0]
    assert f"stopped following; run {run_id} goes on (neo-recommender status {run_id} --table results" in err
    # The run was started: the manifest is in S3, and nothing was stopped or deleted.
    assert boto3.client("s3", region_name=REGION).head_object(Bucket="submissions",
                                                              Key="models/xgb-local/recommend.json")


@pytest.mark.usefixtures("aws")
def test_ctrl_c_while_uploading_says_whether_a_run_can_have_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    target = _submission_target()
    monkeypatch.setattr("neo_recommender.cli.submit.upload", _interrupt)
    assert main(["submit", str(_folder(tmp_path).parent), "--wait", *target]) == 130
    out, err = capsys.readouterr()
    assert "Submitted run" not in out and "stopped following" not in err
    assert ("interrupted while uploading. recommend.json goes last, so a run started only if "
            "s3://submissions/models/xgb-local/recommend.json was uploaded") in err


@pytest.mark.usefixtures("aws")
def test_ctrl_c_in_another_command_is_an_interruption_not_a_run_going_on(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    target = _submission_target()
    monkeypatch.setattr("neo_recommender.cli.follow.run_state", _interrupt)
    assert main(["status", "r1", "--table", "results", "--region", REGION]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "neo-recommender status: interrupted" and target
