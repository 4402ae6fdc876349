"""Work moto repeats on every request although its result cannot change, done once.

These caches change how fast the emulator answers, never what it answers: each keeps a pure function's
result for the same input, and each is undone by ``uninstall``.

- **The state machine's parse tree.** moto's Step Functions interpreter parses the definition's JSON
  with ANTLR at the start of every execution (``ExecutionWorker._get_evaluation_entrypoint``): about
  80 ms for this pipeline's definition, more than every Lambda invocation of a run spends outside its
  handler. The parse tree of a definition is the same every time; the evaluation components built from
  it (``Preprocessor``) hold each execution's state, so they are still built afresh per execution. A
  definition with syntax errors is not cached and fails as before.
- **Clients of the Step Functions interpreter.** moto creates a new boto3 client for every Task state
  it runs (``boto_client_for``), which copies the session's event hooks and costs more than the
  request itself. Here one client per (region, service) serves every task: botocore clients are
  thread-safe, and the emulator's IAM enforcement reads who is acting from the calling thread, not
  from the client.
- **JSON templates read as JSON.** moto reads every CloudFormation template with PyYAML's pure-Python
  loader, JSON ones too (JSON is YAML): 0.85 s for this stack's template, a sixth of a deployment.
  CloudFormation reads a template that is a JSON object as JSON; so does the emulator now, and a
  YAML template still goes to moto's YAML loader.
- **JSONPath expressions.** moto parses every path (``$.job.name``) with jsonpath-ng's PLY parser each
  time a state reads or writes its input. A parsed path is an immutable description; it is parsed once.
"""

from __future__ import annotations

import json
import sys
import threading
from functools import lru_cache
from typing import Any

# Imported for their side effect: every interpreter module that names boto_client_for is loaded before it is replaced.
from moto.cloudformation.models import ChangeSet, Stack
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: F401
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: F401
    state_task_service_factory,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

_INTERPRETER_PACKAGE = "moto.stepfunctions.parser."


class MotoSpeedups:
    """Install and remove the caches described in the module docstring."""

    def __init__(self) -> None:
        self._original_parse: Any = None
        self._original_client_for: Any = None
        self._original_json_path_parse: Any = None
        self._original_parse_template: Any = None
        self._original_change_set_parse: Any = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._trees: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: Parses answered from the cache, and parses done (how often the cache paid).
        self.parse_hits = 0
        self.parse_misses = 0

    def install(self) -> None:
        """Cache parse trees of state machine definitions; idempotent."""
        if self._original_parse is not None:
            return
        self._original_parse = AmazonStateLanguageParser.parse
        original, speedups = self._original_parse, self

        def parse(definition: str) -> tuple[Any, Any]:
            tree = speedups._trees.get(definition)
            if tree is None:
                program, tree = original(definition)  # raises ASLParserException on a syntax error
                with speedups._lock:
                    speedups._trees[definition] = tree
                    speedups.parse_misses += 1
                return program, tree
            with speedups._lock:
                speedups.parse_hits += 1
            return Preprocessor().visit(tree), tree

        AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]

        self._original_client_for = boto_client.boto_client_for
        original_client_for = self._original_client_for

        def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            key = (region, service)
            with speedups._lock:
                if key not in speedups._clients:
                    speedups._clients[key] = original_client_for(region, service, state_credentials)
                return speedups._clients[key]

        self._replace_client_for(original_client_for, client_for)
        self._original_json_path_parse = json_path.parse
        json_path.parse = lru_cache(maxsize=1024)(self._original_json_path_parse)
        self._original_parse_template = Stack.parse_template
        self._original_change_set_parse = ChangeSet._parse_template
        parse_template = _template_parser(self._original_parse_template)
        Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]
        ChangeSet._parse_template = lambda change_set: setattr(  # type: ignore[method-assign]
            change_set, "template_dict", parse_template(change_set.template))

    def uninstall(self) -> None:
        """Parse every definition and path again and create a client per task, as moto does."""
        if self._original_parse is not None:
            AmazonStateLanguageParser.parse = staticmethod(self._original_parse)  # type: ignore[method-assign]
            self._replace_client_for(None, self._original_client_for)
            json_path.parse = self._original_json_path_parse
            Stack.parse_template = staticmethod(self._original_parse_template)  # type: ignore[method-assign]
            ChangeSet._parse_template = self._original_change_set_parse  # type: ignore[method-assign]
            self._original_parse = None
        self._trees.clear()
        self._clients.clear()

    @staticmethod
    def _replace_client_for(current: Any, replacement: Any) -> None:
        """Every interpreter module imported ``boto_client_for`` by name: replace it in each."""
        for name, module in list(sys.modules.items()):
            if not name.startswith(_INTERPRETER_PACKAGE) or module is None:
                continue
            found = getattr(module, "boto_client_for", None)
            if found is not None and found is not replacement and (current is None or found is current):
                module.boto_client_for = replacement  # type: ignore[attr-defined]


def _template_parser(original: Any) -> Any:
    def parse_template(template: str) -> dict[str, Any]:
        if template.lstrip().startswith("{"):
            try:
                parsed = json.loads(template)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                return parsed
        return original(template)  # type: ignore[no-any-return]
    return parse_template
