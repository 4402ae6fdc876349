"""The emulator's caches make moto faster without changing what it answers (emulator/moto_speedups.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto.cloudformation.models import Stack
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

from neo_recommender.emulator.moto_speedups import MotoSpeedups

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"a": 1}, "End": True}}})


@pytest.fixture
def speedups() -> Iterator[MotoSpeedups]:
    installed = MotoSpeedups()
    installed.install()
    try:
        yield installed
    finally:
        installed.uninstall()


def test_a_definition_is_parsed_once_and_each_execution_gets_components_of_its_own(speedups: MotoSpeedups) -> None:
    first_program, first_tree = AmazonStateLanguageParser.parse(DEFINITION)
    second_program, second_tree = AmazonStateLanguageParser.parse(DEFINITION)
    assert second_tree is first_tree  # the ANTLR parse tree is shared ...
    assert second_program is not first_program  # ... the components holding an execution's state are not
    assert (speedups.parse_misses, speedups.parse_hits) == (1, 1)


def test_a_definition_with_a_syntax_error_still_fails_every_time(speedups: MotoSpeedups) -> None:
    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": ')
    assert speedups.parse_hits == 0


def test_tasks_share_one_client_per_region_and_service(speedups: MotoSpeedups) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    first = lambda_eval_utils.boto_client_for("us-east-1", "lambda")
    assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is first
    assert lambda_eval_utils.boto_client_for("eu-west-1", "lambda") is not first


def test_json_templates_are_read_as_json_and_yaml_ones_by_moto() -> None:
    speedups = MotoSpeedups()
    speedups.install()
    try:
        assert Stack.parse_template('{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}') == {
            "Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
        assert Stack.parse_template("Resources:\n  T:\n    Type: AWS::SNS::Topic\n") == {
            "Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
    finally:
        speedups.uninstall()


def test_uninstall_gives_moto_its_own_functions_back() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    before = (AmazonStateLanguageParser.parse, json_path.parse, Stack.parse_template,
              lambda_eval_utils.boto_client_for)
    speedups = MotoSpeedups()
    speedups.install()
    speedups.uninstall()
    assert (AmazonStateLanguageParser.parse, json_path.parse, Stack.parse_template,
            lambda_eval_utils.boto_client_for) == before
    assert lambda_eval_utils.boto_client_for is boto_client.boto_client_for
