"""Mutation testing of the deployed stack's IAM: is every Allow statement of every role needed?

For each Allow statement of the template's ``AWS::IAM::Policy`` resources (every role the pipeline creates: the
Lambda roles, the state machine's, the EventBridge target's and the IR role), the statement is removed from the
deployed policy (what removing it from the synthesized template deploys), a scenario that needed it runs again, and
the emulator must refuse a request the statement allowed: a caller gets AccessDenied (the run fails), or a delivery
AWS drops silently (logs, traces) is recorded refused. A statement needed when the stack is created is removed from
the template itself, and the deployment must fail. A statement no scenario reaches must be explained.

Which scenario needs a statement comes from the baseline: the enforcement records, for every request it allowed, the
statements that allowed it (``IamEnforcement.allowing_sets``); a statement is needed when it was the only
identity-based statement allowing some request.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neo_recommender.emulator.deploy import DeploymentFailed
from neo_recommender.emulator.iam_enforcement import Denial
from neo_runtime.job_slots import QUEUE_PARTITION, SLOTS_PARTITION

from .conftest import DeployedPipeline

#: Actions only Lambda's own deliveries use (a function's logs and traces).
DELIVERY_ONLY = frozenset({"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                           "xray:PutTelemetryRecords"})

#: A scenario submits one model (its name given) and returns once its run and everything it set off has ended.
Scenario = Callable[[DeployedPipeline, str], None]


@dataclass(frozen=True)
class Statement:
    """One Allow statement of a policy of the template, and the roles the policy is attached to."""

    policy: str
    index: int
    roles: tuple[str, ...]
    document: dict[str, Any]

    @property
    def key(self) -> tuple[str, int]:
        """How the enforcement names it: the policy's name (its logical id) and the statement's position."""
        return (self.policy, self.index)

    @property
    def actions(self) -> list[str]:
        """The statement's actions."""
        action = self.document["Action"]
        return [action] if isinstance(action, str) else list(action)

    def allows(self, action: str) -> bool:
        """Whether one of the statement's actions covers ``action`` (IAM matches actions case-insensitively)."""
        return any(re.fullmatch(re.escape(p.lower()).replace(r"\*", ".*"), action.lower()) for p in self.actions)

    def describe(self) -> str:
        """``Policy[index]: actions`` for reports."""
        return f"{self.policy.removeprefix('Pipeline')[:40]}[{self.index}]: {', '.join(self.actions)}"


@dataclass
class Verdict:
    """What removing one statement did."""

    statement: Statement
    outcome: str  # "killed", "killed at deployment", "killed silently" (a dropped delivery), "explained", "survived"
    scenario: str | None = None
    evidence: str = ""


@dataclass
class MutationReport:
    """Every statement's verdict, and the figures the issue asks for."""

    verdicts: list[Verdict] = field(default_factory=list)

    def count(self, *outcomes: str) -> int:
        """How many verdicts have one of ``outcomes``."""
        return sum(1 for verdict in self.verdicts if verdict.outcome in outcomes)

    def summary(self, stack: str) -> str:
        """One line of figures, then one line per statement."""
        lines = [f"{stack}: {len(self.verdicts)} statements; killed {self.count('killed')}, at deployment "
                 f"{self.count('killed at deployment')}, silently {self.count('killed silently')}; explained "
                 f"{self.count('explained')}; survived {self.count('survived')}"]
        lines += [f"  {v.outcome:22} {v.statement.describe()}  <- {v.scenario or ''} {v.evidence[:140]}"
                  for v in self.verdicts]
        return "\n".join(lines)


def template_statements(template: dict[str, Any]) -> list[Statement]:
    """Every Allow statement of the template's IAM policies."""
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        properties = resource["Properties"]
        roles = tuple(role["Ref"] for role in properties.get("Roles", []))
        for index, statement in enumerate(properties["PolicyDocument"]["Statement"]):
            if statement["Effect"] == "Allow":
                found.append(Statement(properties["PolicyName"], index, roles, statement))
    return found


def needed(statement: Statement, allowing_sets: Counter[frozenset[tuple[str, int]]], policies: set[str]) -> bool:
    """Whether some request was allowed by this statement and no other identity-based statement."""
    return any({ref for ref in allowing if ref[0] in policies} == {statement.key} for allowing in allowing_sets)


class MutationSuite:
    """Runs baseline scenarios on a deployed stack, then one mutant per statement."""

    def __init__(self, pipeline: DeployedPipeline, assembly: Path, scenarios: dict[str, Scenario],
                 deploy_sets: Counter[frozenset[tuple[str, int]]], keys: dict[str, dict[str, Any]] | None = None,
                 explained: dict[tuple[str, tuple[str, ...]], str] | None = None) -> None:
        self.pipeline = pipeline
        self.assembly = assembly
        self.template = json.loads((assembly / "NeoRecommenderStack.template.json").read_text())
        self.statements = template_statements(self.template)
        self.policies = {statement.policy for statement in self.statements}
        self.scenarios = scenarios
        self.deploy_sets = deploy_sets
        self.keys = keys or {}
        self.explained = explained or {}
        self.baseline: dict[str, Counter[frozenset[tuple[str, int]]]] = {}
        self._baseline_runs = 0
        self._runs = 0

    def run_baseline(self) -> None:
        """Run every scenario once with every statement in place, noting which statements each needed (added to what
        earlier baseline runs noted)."""
        self._baseline_runs += 1
        for name, scenario in self.scenarios.items():
            before = Counter(self.pipeline.aws.iam.allowing_sets)
            self._run(scenario)
            self.baseline[name] = self.baseline.get(name, Counter()) + (self.pipeline.aws.iam.allowing_sets - before)
        assert not self.pipeline.aws.iam.denials, [d.message for d in self.pipeline.aws.iam.denials]

    def report(self) -> MutationReport:
        """Mutate every statement; the verdict of each.

        Statements that only let Lambda deliver a function's logs and traces are removed together, one run of each
        scenario that needs some of them (the first that does, as for any statement): AWS drops those deliveries
        without failing anything, so the run takes the path it takes with all of them in place, and each
        statement's own refusals show in it (a refusal names the role, and one role's delivery statements share no
        action). Every other statement is removed alone.
        """
        verdicts: dict[tuple[str, int], Verdict] = {}
        silent_by_scenario: dict[str, list[Statement]] = {}
        for statement in self.statements:
            if set(statement.actions) <= DELIVERY_ONLY and not needed(statement, self.deploy_sets, self.policies):
                scenario = self._first_scenario_needing(statement)
                if scenario is not None:
                    silent_by_scenario.setdefault(scenario, []).append(statement)
        for scenario, silent in silent_by_scenario.items():
            for first, second in itertools.combinations(silent, 2):  # a refusal names the one statement it came from
                assert not (set(first.roles) & set(second.roles) and set(first.actions) & set(second.actions)), (
                    f"{first.describe()} and {second.describe()} allow one role the same delivery: remove them apart")
            verdicts.update({v.statement.key: v for v in self._mutant(silent, scenario)})
        for statement in self.statements:
            if statement.key not in verdicts:
                verdicts[statement.key] = self._verdict(statement)
        return MutationReport([verdicts[s.key] for s in self.statements])

    # ------------------------------------------------------------------ mutants

    def _verdict(self, statement: Statement) -> Verdict:
        reason = self._explanation(statement)
        if needed(statement, self.deploy_sets, self.policies):
            return self._redeploy_without(statement)
        scenario = self._first_scenario_needing(statement)
        if scenario is None and not reason and self._baseline_runs < 2:
            # Which path a scenario takes can depend on timing (once, under a full suite's load, no baseline run
            # needed the poller's StopInferenceRecommendationsJob, which every run alone needs): before a statement
            # survives as needed by no scenario, the baseline runs once more and what either run needed counts.
            self.run_baseline()
            scenario = self._first_scenario_needing(statement)
        if scenario is None:
            return Verdict(statement, "explained" if reason else "survived", evidence=reason or "no scenario needs it")
        (verdict,) = self._mutant([statement], scenario)
        return verdict

    def _first_scenario_needing(self, statement: Statement) -> str | None:
        """The first baseline scenario in which ``statement`` alone allowed some request."""
        return next((name for name, sets in self.baseline.items() if needed(statement, sets, self.policies)), None)

    def _mutant(self, statements: list[Statement], scenario: str) -> list[Verdict]:
        """Run ``scenario`` without ``statements``; each one's verdict from the requests refused meanwhile.

        A statement that seems to survive gets a second run: which path a run takes can depend on timing (a queued
        run that a loaded machine starts late finds a slot free and never waits), and a survivor must survive twice.
        """
        with self._without(statements):
            denials = self._refusals_of_a_run(scenario, statements)
            if not self._each_refused(denials, statements):
                denials += self._refusals_of_a_run(scenario, statements)
        verdicts = []
        for statement in statements:
            refused = [d for d in denials if self._refused_by(d, statement)]
            delivered = [d for d in refused if d.delivered]
            verdicts.append(
                Verdict(statement, "killed" if delivered else "killed silently", scenario,
                        (delivered or refused)[0].message) if refused
                else Verdict(statement, "survived", scenario, "removed, the scenario still ran through"))
        return verdicts

    def _refusals_of_a_run(self, scenario: str, statements: list[Statement]) -> list[Denial]:
        denials_before = len(self.pipeline.aws.iam.denials)

        def nothing_more_to_see(listed: list[dict[str, Any]]) -> bool:
            """Every removed statement refused something and no execution runs: a run the mutant kept from
            starting (its StartExecution refused, the event dead-lettered) never will."""
            return (self._each_refused(self.pipeline.aws.iam.denials[denials_before:], statements)
                    and not any(execution["status"] == "RUNNING" for execution in listed))

        self.pipeline.run_timeout = 15.0  # a mutant may keep the run from starting at all
        self.pipeline.give_up = nothing_more_to_see
        try:
            self._run(self.scenarios[scenario])
        except (TimeoutError, AssertionError, ValueError, KeyError):
            pass  # the scenario's own expectations may fail; what counts is what the emulator refused
        finally:
            self.pipeline.run_timeout = 60.0
            self.pipeline.give_up = None
        denials = self.pipeline.aws.iam.denials[denials_before:]
        del self.pipeline.aws.iam.denials[denials_before:]
        return denials

    def _each_refused(self, denials: list[Denial], statements: list[Statement]) -> bool:
        """Whether every one of ``statements`` has a refusal of its own among ``denials``."""
        return all(any(self._refused_by(denial, statement) for denial in denials) for statement in statements)

    def _refused_by(self, denial: Denial, statement: Statement) -> bool:
        roles = [self.pipeline.deployed.physical_ids[role] for role in statement.roles]
        return statement.allows(denial.action) and any(f"assumed-role/{role}/" in denial.principal for role in roles)

    def _explanation(self, statement: Statement) -> str | None:
        """The reason given for this very statement: its policy (a part of the logical id) and all its actions, so
        that no other statement of the policy, present or future, is excused by it."""
        for (policy_part, actions), reason in self.explained.items():
            if policy_part in statement.policy and sorted(statement.actions) == sorted(actions):
                return reason
        return None

    @contextmanager
    def _without(self, statements: list[Statement]) -> Iterator[None]:
        """The deployed policies without ``statements`` (a policy's statements are the template's, resolved, in order:
        those removed from one policy go together, so that each index still names its own statement)."""
        iam = self.pipeline.aws.client("iam")
        indices: dict[tuple[str, str], set[int]] = {}
        for statement in statements:
            for role in statement.roles:
                indices.setdefault((self.pipeline.deployed.physical_ids[role], statement.policy), set()).add(
                    statement.index)
        original = {key: iam.get_role_policy(RoleName=key[0], PolicyName=key[1])["PolicyDocument"] for key in indices}
        try:
            for (role, policy), removed in indices.items():
                kept = [s for index, s in enumerate(original[(role, policy)]["Statement"]) if index not in removed]
                mutated = {**original[(role, policy)], "Statement": kept}
                if kept:
                    iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(mutated))
                else:  # its only statements: IAM takes no empty policy, and removing them removes the policy
                    iam.delete_role_policy(RoleName=role, PolicyName=policy)
            yield
        finally:
            for (role, policy), document in original.items():
                iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(document))

    def _redeploy_without(self, statement: Statement) -> Verdict:
        """A statement needed at creation: deploy the template without it as a second stack; AWS would refuse it."""
        name = f"Mutant{self._runs}x{statement.index}"  # short: resource names derive from it
        template = copy.deepcopy(self.template)
        del template["Resources"][statement.policy]["Properties"]["PolicyDocument"]["Statement"][statement.index]
        for resource in template["Resources"].values():  # a second copy in the same account: its own log group names
            if resource["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in resource["Properties"]:
                resource["Properties"]["LogGroupName"] += "-mutant"
        mutated_dir = self.assembly.parent / name
        mutated_dir.mkdir(exist_ok=True)
        (mutated_dir / f"{name}.template.json").write_text(json.dumps(template))
        (mutated_dir / f"{name}.assets.json").write_text(
            (self.assembly / "NeoRecommenderStack.assets.json").read_text())
        for asset in self.assembly.iterdir():  # the code assets and the manifest's own files
            if not (mutated_dir / asset.name).exists():
                (mutated_dir / asset.name).symlink_to(asset)
        try:
            self.pipeline.aws.deploy(mutated_dir, name)
        except DeploymentFailed as failed:  # rolled back, as CloudFormation does
            return Verdict(statement, "killed at deployment", "deployment", str(failed))
        self.pipeline.aws.client("cloudformation").delete_stack(StackName=name)
        return Verdict(statement, "survived", "deployment", "the deployment succeeded without it")

    # ---------------------------------------------------------------- scenarios

    def _run(self, scenario: Scenario) -> None:
        self._runs += 1
        model = f"m{self._runs:03d}"
        finished = False
        try:
            scenario(self.pipeline, model)
            finished = True
        finally:
            # Settle even when the scenario gave up waiting: refusals still on their way (a loaded machine starts
            # executions late) belong to this mutant, not to the next one.
            self._settle(30.0 if finished else 10.0)
            self._reset()

    def _settle(self, timeout_seconds: float = 30.0) -> None:
        """Wait until every execution has ended and every asynchronous invocation has returned."""
        stepfunctions = self.pipeline.stepfunctions
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            running = [e["executionArn"] for page in stepfunctions.get_paginator("list_executions").paginate(
                stateMachineArn=self.pipeline.outputs["StateMachineArn"], statusFilter="RUNNING")
                for e in page["executions"]]
            if not running:
                break
            time.sleep(0.05)
        else:  # a mutant can strand a run (its wake-up refused): stop it, as an operator would
            for arn in running:
                stepfunctions.stop_execution(executionArn=arn, cause="mutation test cleanup")
        self.pipeline.aws.wiring.wait_until_quiet()

    def _reset(self) -> None:
        aws = self.pipeline.aws
        aws.aws_faults.clear()
        aws.lambdas.crashes.clear()
        aws.lambdas.before_invoke.clear()
        aws.recommender.faults.stall_jobs.clear()
        aws.recommender.faults.fail_jobs.clear()
        self.pipeline.purge_dead_letters()
        dynamodb, table, scope = self.pipeline.dynamodb, self.pipeline.outputs["ResultsTableName"], self._name_prefix()
        for run in self.pipeline.job_slots(scope)["waiters"]:
            dynamodb.delete_item(TableName=table, Key={"pk": {"S": QUEUE_PARTITION}, "sk": {"S": f"{scope}#{run}"}})
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": SLOTS_PARTITION}, "sk": {"S": scope}})

    def _name_prefix(self) -> str:
        functions = [r for r in self.template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
        return str(functions[0]["Properties"]["Environment"]["Variables"]["JOB_NAME_PREFIX"])


def run_and_wait(pipeline: DeployedPipeline, model: str) -> None:
    """Submit the sample model and wait for its run."""
    pipeline.run(model)
