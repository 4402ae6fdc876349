"""Work moto repeats on every request although its result cannot change, done once; signatures moto never checks,
left out; and parsing, one thread at a time.

These caches change how fast the emulator answers, never what it answers: each keeps a result that depends only on
its input (checked again where it may not: a response class's methods), and each is undone by ``uninstall``. The last
two items are no caches: one leaves out work whose result nothing reads, the other keeps the emulator's threads from
tripping over a CPython 3.11 hazard.

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
- **DynamoDB attribute values, answered directly.** moto's response serializer looks up each of the ten
  members of every ``AttributeValue`` in a response through its alias pickers: a quarter of a 50-run
  burst went into answering reads of the job-slot item. An attribute value is already in the wire shape
  (``{"S": ...}``, ``{"M": {...}}``); here it is written out directly, with what the serializer does to it
  (bytes of ``B`` and ``BS`` in base64, ``S``/``N``/``SS``/``NS`` as strings, absent members dropped).
  Anything else goes to moto's serializer.
- **A DynamoDB query reads its partition.** moto answers a query of a table (not of an index) by sorting
  every item of the table and keeping those with the partition key asked for: the shared poller's query of
  the watch list cost more with every run record the table held. Here that query sees only the items of
  its partition (the same items, in the same order); index queries and scans are moto's own.
- **DynamoDB update expressions, parsed once and counted in one walk.** moto parses an ``UpdateItem``'s
  expression twice a request (the response class, to list the names and values it uses; the backend, to
  apply it), and checks that it has at most one SET, REMOVE and ADD section (``ActionCountValidator``) by
  walking, at every node of the parse tree, that node's whole subtree: for the run summary's 19-attribute
  SET, most of a 16 ms request. moto never changes a parsed expression (its validator works on a deep copy
  of it), so each expression is parsed once; one that does not parse is parsed (and fails) every time.
  The section count is done in one bottom-up walk that raises moto's error at the node moto raises it.
- **JSONPath expressions.** moto parses every path (``$.job.name``) with jsonpath-ng's PLY parser each
  time a state reads or writes its input. A parsed path is an immutable description; it is parsed once.
- **A service's URL table.** moto routes every request by rebuilding its service's table of URL patterns
  (``BaseBackend.urls``; for S3 it reloads ``moto.s3.urls`` first, "the urls-property can be different
  depending on env variables"): 0.1 ms to 0.2 ms of a 1 ms S3 request. The table depends on the backend's
  class and on those variables only (``MOTO_S3_CUSTOM_ENDPOINTS``, ``MOTO_ENABLE_ISO_REGIONS``), so it is
  built once per class and values of those variables.
- **Service models and routers, built once per process.** moto caches each service's botocore model
  (``moto.core.utils.get_service_model``), its operation router (``moto.core.routing.get_service_router``)
  and the router's per-protocol URL map (``ServiceOperationRouter._get_router``; werkzeug compiles every rule
  with ``ast.parse``), but not while it builds them: the 200 executions of a burst start at once, each asks
  for Lambda's model and router before its first invocation, and each built them, 0.3 s of CPU apiece for the
  model alone. Each load also made a new botocore ``Loader``, which lists every service folder of botocore and
  moto again (about 1,600 file-system calls). Here one loader serves every load, and one thread builds each
  (under ``BUILD_LOCK``); the others wait for it, and later callers find it built without taking the lock.
- **botocore's data, loaded once per process.** Every botocore session makes its own loader, and a loader
  reads each JSON file it is asked for (a service model, ``endpoints.json``) once: the emulator's clients,
  the handlers' and the Step Functions interpreter's come from several sessions, and a demo read
  ``endpoints.json`` five times and SageMaker's 1 MB model three times (1.9 s of JSON in a 5 s demo). A
  loader's answers depend only on its search path (``AWS_DATA_PATH``) and the files, and botocore already
  shares them between the clients of one session; here sessions share one loader per search path. moto's
  own loader (its models carry moto's extras) stays apart.
- **A response class's method names.** moto lists the methods of the service's response class
  (``inspect.getmembers``) on every request to check that it implements the action: 0.2 ms a request. The
  list is kept per class, and each answer is checked against the class as it is now: an action missing from
  the list, or no longer a function of the class, is listed again.
- **Signatures nobody checks.** botocore signs every request with Signature Version 4 before moto answers it:
  a canonical request, its SHA-256 and five HMACs, about 0.3 ms of a 2 ms DynamoDB or S3 call. moto never
  checks a signature (its own IAM checks are off: the emulator's ``IamEnforcement`` decides, from who is acting,
  not from the request's signature). Here a header-signed request (``SigV4Auth``, ``S3SigV4Auth``) gets what
  signing adds besides the signature: ``X-Amz-Date``, the session token, S3's payload hash, and an
  ``Authorization`` header naming the access key and scope (moto reads the account from the key), with a
  signature of zeros. A client without credentials still fails with ``NoCredentialsError``, as it would in
  AWS; presigned URLs and every other signer are botocore's own; and with moto's own IAM checks turned on
  (``INITIAL_NO_AUTH_ACTION_COUNT``), every request is signed as botocore signs it.
- **Parsing, one thread at a time.** CPython 3.11 keeps the AST constructor's recursion depth in the
  interpreter's state, not the thread's (``Python/Python-ast.c``, ``struct ast_state``), so two threads
  building parse trees at once can fail with ``SystemError: AST constructor recursion depth mismatch``. The
  emulator's threads do: moto's Step Functions preprocessor reads each string literal of the definition with
  ``ast.literal_eval`` in every execution's thread, werkzeug compiles URL rules, the emulator checks each code
  package's imports, Python 3.11 places a traceback's ``^^^`` markers, and the pipeline's own manifest parsing
  reads a single-quoted ``DataInputConfig``; a burst's ``ValidateSubmission`` failed that way (4 of 6 runs with
  a gc callback installed, which makes a thread switch mid-parse likelier). While installed, ``ast.parse``
  (which ``ast.literal_eval`` calls) holds ``BUILD_LOCK``.
"""

from __future__ import annotations

import ast
import base64
import inspect
import json
import os
import sys
import threading
from functools import lru_cache
from typing import Any

# The interpreter's modules are also imported for their side effect: every one that names boto_client_for is loaded
# before it is replaced.
import moto.core.responses as moto_responses
import moto.core.routing as moto_routing
import moto.core.utils as moto_utils
import moto.settings as moto_settings
from botocore import session as botocore_session
from botocore.auth import SIGV4_TIMESTAMP, S3SigV4Auth, SigV4Auth
from botocore.compat import get_current_datetime
from botocore.exceptions import NoCredentialsError
from moto.cloudformation.models import ChangeSet, Stack
from moto.core.base_backend import BaseBackend
from moto.core.loaders import create_loader
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.exceptions import TooManyClauses
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import (
    Expression,
    Node,
    UpdateExpression,
    UpdateExpressionAddClause,
    UpdateExpressionFunction,
    UpdateExpressionRemoveClause,
    UpdateExpressionSetClause,
)
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import ActionCountValidator
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: F401
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: F401
    state_task_service_factory,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

_INTERPRETER_PACKAGE = "moto.stepfunctions.parser."

#: Held while a thread builds what the emulator's threads share (moto's service models and routers) and while it
#: parses Python (``ast.parse``, see "Parsing, one thread at a time" above).
BUILD_LOCK = threading.RLock()


class MotoSpeedups:
    """Install and remove the caches described in the module docstring."""

    def __init__(self) -> None:
        self._original_parse: Any = None
        self._original_client_for: Any = None
        self._original_json_path_parse: Any = None
        self._original_parse_template: Any = None
        self._original_change_set_parse: Any = None
        self._original_structure: Any = None
        self._original_query: Any = None
        self._original_all_items: Any = None
        self._original_urls: Any = None
        self._original_load_model: Any = None
        self._original_router: Any = None
        self._original_protocol_router: Any = None
        self._original_method_names: Any = None
        self._original_ast_parse: Any = None
        self._original_add_auth: Any = None
        self._original_update_parse: Any = None
        self._original_count_actions: Any = None
        self._original_session_loader: Any = None
        self._url_tables: dict[tuple[type, str | None, str | None], Any] = {}
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
        self._original_query, self._original_all_items = Table.query, Table.all_items
        Table.query, Table.all_items = _partition_query(Table.query, Table.all_items)  # type: ignore[method-assign]
        self._original_structure = BaseJSONSerializer._serialize_type_structure
        BaseJSONSerializer._serialize_type_structure = _structure_serializer(  # type: ignore[method-assign]
            self._original_structure)
        self._original_urls = BaseBackend.urls
        BaseBackend.urls = property(self._url_table)  # type: ignore[method-assign,assignment]
        self._original_load_model = moto_utils._load_service_model
        moto_utils._load_service_model = _built_once(create_loader().load_service_model)  # one loader for all
        self._original_router = moto_responses.get_service_router
        moto_responses.get_service_router = _built_once(self._original_router)
        self._original_protocol_router = moto_routing.ServiceOperationRouter._get_router
        moto_routing.ServiceOperationRouter._get_router = _protocol_router(  # type: ignore[method-assign]
            self._original_protocol_router)
        self._original_method_names = moto_responses.method_names_from_class
        moto_responses.method_names_from_class = _method_names_of_class(self._original_method_names)
        self._original_ast_parse = ast.parse
        ast.parse = _one_at_a_time(self._original_ast_parse)
        self._original_update_parse = UpdateExpressionParser.__dict__["make"]
        UpdateExpressionParser.make = classmethod(  # type: ignore[method-assign,assignment]
            lru_cache(maxsize=1024)(self._original_update_parse.__func__))
        self._original_count_actions = ActionCountValidator.traverse
        ActionCountValidator.traverse = _count_sections_once  # type: ignore[method-assign]
        self._original_session_loader = botocore_session.create_loader
        botocore_session.create_loader = _built_once(self._original_session_loader)  # one loader per search path
        self._original_add_auth = SigV4Auth.add_auth
        if moto_settings.INITIAL_NO_AUTH_ACTION_COUNT == float("inf"):  # moto's own checks off: it reads no signature
            SigV4Auth.add_auth = _unchecked_signature(self._original_add_auth)  # type: ignore[method-assign]
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
            BaseJSONSerializer._serialize_type_structure = self._original_structure  # type: ignore[method-assign]
            Table.query, Table.all_items = self._original_query, self._original_all_items  # type: ignore[method-assign]
            BaseBackend.urls = self._original_urls  # type: ignore[method-assign]
            moto_utils._load_service_model = self._original_load_model
            moto_responses.get_service_router = self._original_router
            moto_routing.ServiceOperationRouter._get_router = self._original_protocol_router  # type: ignore[method-assign]
            moto_responses.method_names_from_class = self._original_method_names
            ast.parse = self._original_ast_parse
            SigV4Auth.add_auth = self._original_add_auth  # type: ignore[method-assign]
            UpdateExpressionParser.make = self._original_update_parse  # type: ignore[method-assign]
            ActionCountValidator.traverse = self._original_count_actions  # type: ignore[method-assign]
            botocore_session.create_loader = self._original_session_loader
            self._original_parse = None
        self._trees.clear()
        self._clients.clear()
        self._url_tables.clear()

    def _url_table(self, backend: BaseBackend) -> Any:
        """``backend.urls`` as moto builds it, once per backend class and value of the variables it reads."""
        key = (type(backend), os.environ.get("MOTO_S3_CUSTOM_ENDPOINTS"), os.environ.get("MOTO_ENABLE_ISO_REGIONS"))
        table = self._url_tables.get(key)
        if table is None:
            table = self._original_urls.fget(backend)
            with self._lock:
                self._url_tables[key] = table
        return table

    @staticmethod
    def _replace_client_for(current: Any, replacement: Any) -> None:
        """Every interpreter module imported ``boto_client_for`` by name: replace it in each."""
        for name, module in list(sys.modules.items()):
            if not name.startswith(_INTERPRETER_PACKAGE) or module is None:
                continue
            found = getattr(module, "boto_client_for", None)
            if found is not None and found is not replacement and (current is None or found is current):
                module.boto_client_for = replacement  # type: ignore[attr-defined]


def _built_once(cached: Any) -> Any:
    """``cached(*args)`` built once per arguments, by one thread: the others wait for it, then find it built."""
    built: dict[tuple[Any, ...], Any] = {}

    def build(*args: Any) -> Any:
        found = built.get(args)
        if found is None:
            with BUILD_LOCK:
                found = built.get(args)
                if found is None:
                    found = built[args] = cached(*args)
        return found
    return build


def _one_at_a_time(parse: Any) -> Any:
    """``ast.parse`` holding ``BUILD_LOCK``."""
    def parse_alone(*args: Any, **kwargs: Any) -> Any:
        with BUILD_LOCK:
            return parse(*args, **kwargs)
    return parse_alone


#: The signature of a request signed while the speedups are installed (moto never checks one).
UNCHECKED_SIGNATURE = "0" * 64


def _unchecked_signature(original: Any) -> Any:
    """``SigV4Auth.add_auth`` for a header-signed request: every header signing sets, the signature left out."""
    def add_auth(auth: SigV4Auth, request: Any) -> None:
        if type(auth) not in (SigV4Auth, S3SigV4Auth):  # presigned URLs, S3 Express, ...: botocore's own
            original(auth, request)
            return
        if auth.credentials is None:
            raise NoCredentialsError()
        request.context["timestamp"] = get_current_datetime().strftime(SIGV4_TIMESTAMP)
        auth._modify_request_before_signing(request)  # X-Amz-Date, X-Amz-Security-Token, S3's X-Amz-Content-SHA256
        request.headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={auth.scope(request)}, "
                                            f"SignedHeaders=host;x-amz-date, Signature={UNCHECKED_SIGNATURE}")
    return add_auth


def _protocol_router(original: Any) -> Any:
    """``ServiceOperationRouter._get_router``: a protocol's router, built by one thread (moto builds it on the
    service's first request of that protocol, and keeps it)."""
    def get_router(router: Any, protocol: str) -> Any:
        built = router._routers.get(protocol)
        if built is not None:
            return built
        with BUILD_LOCK:
            return original(router, protocol)
    return get_router


def _method_names_of_class(original: Any) -> Any:
    """``method_names_from_class`` kept per class; an action it lacks is listed again (``_MethodNames``)."""
    names: dict[type, _MethodNames] = {}

    def method_names_from_class(clazz: type) -> _MethodNames:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = _MethodNames(clazz, original)
        return found
    return method_names_from_class


class _MethodNames(list[str]):
    """The names moto's ``method_names_from_class`` listed for a class (moto only asks whether the action is ``in``
    the list). A listed name counts while the class still has it as a function (what ``inspect.getmembers`` with
    ``inspect.isfunction`` checks); any other answer comes from listing the class again."""

    def __init__(self, clazz: type, lister: Any) -> None:
        super().__init__(lister(clazz))
        self._clazz, self._lister = clazz, lister

    def __contains__(self, name: object) -> bool:
        if (isinstance(name, str) and super().__contains__(name)
                and inspect.isfunction(getattr(self._clazz, name, None))):
            return True
        self[:] = self._lister(self._clazz)
        return super().__contains__(name)


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


#: The sections an update expression may have once each, in the order moto checks them.
_ONCE_EACH = ((UpdateExpressionAddClause, "ADD"), (UpdateExpressionRemoveClause, "REMOVE"),
              (UpdateExpressionSetClause, "SET"))


def _count_sections_once(validator: ActionCountValidator, root: Any) -> Any:
    """``ActionCountValidator.traverse`` in one walk: moto visits the nodes depth first, children before their
    parent, and at each ``UpdateExpression`` counts the sections ``find_clauses`` finds below it (a section counts
    where it is met; the search goes on only through ``Expression`` and ``UpdateExpressionFunction`` nodes), raising
    ``TooManyClauses`` for the first of ADD, REMOVE, SET found more than once. Here each node's counts are summed
    from its children's, in the same order, so the same node raises the same error."""
    def counts(node: Node) -> list[int]:
        found = [0] * len(_ONCE_EACH)
        for child in node.children or []:
            below = counts(child) if isinstance(child, Node) else None
            searched = below is not None and isinstance(child, (Expression, UpdateExpressionFunction))
            for index, (section, _) in enumerate(_ONCE_EACH):
                if type(child) is section:
                    found[index] += 1
                elif searched:
                    found[index] += below[index]  # type: ignore[index]
        if isinstance(node, UpdateExpression):
            for index, (_, name) in enumerate(_ONCE_EACH):
                if found[index] > 1:
                    raise TooManyClauses(name)
        return found

    if isinstance(root, Node):
        counts(root)
    return root


_querying = threading.local()


def _partition_query(original_query: Any, original_all_items: Any) -> tuple[Any, Any]:
    """``Table.query`` and ``Table.all_items`` that, inside a query of the table itself, list one partition."""
    def query(table: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None:
            return original_query(table, hash_key, *args, **kwargs)
        _querying.partition = (table, hash_key)
        try:
            return original_query(table, hash_key, *args, **kwargs)
        finally:
            _querying.partition = None

    def all_items(table: Table) -> Any:
        partition = getattr(_querying, "partition", None)
        if partition is None or partition[0] is not table:
            return original_all_items(table)
        items = table.items.get(partition[1])
        if items is None:
            return []
        if not table.range_key_attr:
            return [items]
        return sorted(items.values(), key=lambda item: (item.hash_key, item.range_key) if item.range_key
                      else item.hash_key)
    return query, all_items


_STRING_MEMBERS = ("S", "N")
_STRING_LIST_MEMBERS = ("SS", "NS")


def _structure_serializer(original: Any) -> Any:
    def serialize_structure(serializer: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (key and shape.name == "AttributeValue" and isinstance(value, dict)
                and serializer.service_model.endpoint_prefix == "dynamodb" and "name" not in shape.serialization):
            serialized[key] = attribute_value_json(value)
            return
        original(serializer, serialized, value, shape, key)
    return serialize_structure


def attribute_value_json(value: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB ``AttributeValue`` as moto's JSON serializer writes it (``{"B": b"..."}`` -> base64)."""
    answer: dict[str, Any] = {}
    for member, member_value in value.items():
        if member_value is None:
            continue
        if member in _STRING_MEMBERS:
            answer[member] = member_value if isinstance(member_value, str) else _string(member_value)
        elif member in _STRING_LIST_MEMBERS:
            answer[member] = [item if isinstance(item, str) else _string(item) for item in member_value]
        elif member == "B":
            answer[member] = _base64(member_value)
        elif member == "BS":
            answer[member] = [_base64(item) for item in member_value]
        elif member == "M":
            answer[member] = {name: attribute_value_json(item) for name, item in member_value.items()}
        elif member == "L":
            answer[member] = [attribute_value_json(item) for item in member_value]
        elif member in ("BOOL", "NULL"):
            answer[member] = member_value
    return answer


def _string(value: Any) -> Any:
    """moto's ``_serialize_type_string``: str() of anything but None, {} and []."""
    return str(value) if value not in (None, {}, []) else value


def _base64(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")
