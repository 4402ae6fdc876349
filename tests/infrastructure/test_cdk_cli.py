"""`cdk synth` through the pinned CLI (no credentials, no network), then cfn-lint on the template."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.fixture(scope="module")
def cli_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CDK.exists():
        pytest.fail("the pinned CDK CLI is missing: run `make install` (npm ci installs it from package.json)")
    outdir = tmp_path_factory.mktemp("cli-cdk.out")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_VERSION_CHECK": "1",
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
    result = subprocess.run([str(CDK), "synth", "--quiet", "--no-notices", "--output", str(outdir)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return outdir / "NeoRecommenderStack.template.json"


def test_cli_synth_writes_the_stack_template(cli_template: Path) -> None:
    template = json.loads(cli_template.read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::Lambda::Function",
            "AWS::StepFunctions::StateMachine", "AWS::Events::Rule"} <= kinds


def test_cfn_lint_finds_no_errors_or_warnings(cli_template: Path) -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(os.sys.executable).parent))
    assert cfn_lint, "cfn-lint is not installed in the virtualenv"
    result = subprocess.run([cfn_lint, str(cli_template)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_demo_deploys_what_cdk_synth_writes(cli_template: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo synthesizes in-process, through its own path (demo_assembly: cdk.json's context, the assembly cache);
    # its template is the CLI's, resource for resource. Without cdk.json's context every role policy and the
    # access-log bucket differed: first before the demo read cdk.json, again when the cache keyed on the context
    # and the demo synthesized without it. The cache is off here, so the demo's own synthesis runs.
    from neo_recommender.emulator.assembly import STACK_NAME
    from neo_recommender.emulator.assembly_cache import CACHE_VARIABLE
    from neo_recommender.emulator.demo import demo_assembly

    monkeypatch.setenv(CACHE_VARIABLE, "off")
    assembly, cached, cdk_json = demo_assembly(tmp_path, start=ROOT)
    assert cdk_json == ROOT / "cdk.json" and not cached
    def resources(template: dict) -> dict:  # the CLI also writes each construct's path as Metadata
        return {name: {k: v for k, v in resource.items() if k != "Metadata"}
                for name, resource in template["Resources"].items() if name != "CDKMetadata"}

    demo = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
    cli = json.loads(cli_template.read_text())
    assert resources(demo) == resources(cli)
    assert demo["Outputs"] == cli["Outputs"]
