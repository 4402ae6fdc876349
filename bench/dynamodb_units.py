"""DynamoDB request units, as AWS bills them, for the requests the emulator answers.

On-demand DynamoDB bills request units, not requests: a write of an item up to 1 KB is one write
request unit, a strongly consistent read of an item up to 4 KB one read request unit (an eventually
consistent read half of one); larger items take more. Counting requests prices a write of the
job-slot item, which lists every waiting run, like a write of a 200-byte wake-up item. The rules
used here are AWS's:

- an item's size: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
  (attribute names and values; numbers one byte per two significant digits plus one; a list or map
  3 bytes plus 1 byte per element);
- what each operation consumes:
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
  (GetItem: the item's size rounded up to 4 KB; Query and Scan: the items read, together, rounded up to
  4 KB; PutItem and UpdateItem: the larger of the item before and after, rounded up to 1 KB; DeleteItem:
  the deleted item; BatchWriteItem: each item as its own PutItem or DeleteItem; a write whose condition
  fails: the existing item, at least one unit).

``RequestUnitMeter`` wraps moto's DynamoDB request handlers while it is installed and adds up the
units of every request, by the kind of item (``pk`` up to its first ``#``: ``JOB_SLOTS``, ``RUN``, ...),
so a report can say which items the units go to.
"""

from __future__ import annotations

import base64
import math
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
#: Per list or map, and per element of one (CapacityUnitCalculations.html).
COLLECTION_OVERHEAD_BYTES = 3
ELEMENT_OVERHEAD_BYTES = 1


def item_size(attributes: dict[str, Any]) -> int:
    """Bytes of an item given as attribute values (``{"name": {"S": "..."}, ...}``)."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in attributes.items())


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value, its name not included."""
    ((kind, data),) = value.items()
    if kind in _SCALAR_SIZES:
        return _SCALAR_SIZES[kind](data)
    if kind in _SET_MEMBERS:  # a set: its members' sizes (AWS names no overhead for sets)
        return sum(_SCALAR_SIZES[_SET_MEMBERS[kind]](member) for member in data)
    if kind == "L":
        return COLLECTION_OVERHEAD_BYTES + sum(ELEMENT_OVERHEAD_BYTES + value_size(element) for element in data)
    if kind == "M":
        return COLLECTION_OVERHEAD_BYTES + sum(ELEMENT_OVERHEAD_BYTES + len(name.encode("utf-8")) + value_size(element)
                                               for name, element in data.items())
    raise ValueError(f"not a DynamoDB attribute value type: {kind!r}")


def _byte_length(data: bytes | str) -> int:
    """Raw bytes of a binary value (given as bytes, or as base64 text the way it travels)."""
    return len(data) if isinstance(data, bytes) else len(base64.b64decode(data))


def number_size(text: str) -> int:
    """One byte per two significant digits (leading and trailing zeroes trimmed), plus one."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


_SCALAR_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda text: len(text.encode("utf-8")), "N": number_size, "B": _byte_length,
    "BOOL": lambda _: 1, "NULL": lambda _: 1}
_SET_MEMBERS = {"SS": "S", "NS": "N", "BS": "B"}


def write_units(size: int) -> int:
    """Write request units of writing an item of ``size`` bytes (at least one)."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, consistent: bool) -> float:
    """Read request units of reading ``size`` bytes at once (at least one 4 KB block); half if eventually consistent."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


class RequestUnitMeter:
    """Adds up the request units of every DynamoDB request moto answers while installed.

    ``write_units`` and ``read_units`` count by item kind; ``largest_item_bytes`` is the largest item written.
    """

    def __init__(self) -> None:
        self.write_units: Counter[str] = Counter()
        self.read_units: Counter[str] = Counter()
        self.largest_item_bytes = 0
        self._lock = threading.Lock()
        self._originals: dict[str, Callable[..., Any]] = {}
        self._backend_originals: dict[str, Callable[..., Any]] = {}
        self._original_project: Callable[..., Any] | None = None

    def install(self) -> RequestUnitMeter:
        """Wrap moto's DynamoDB handlers (undone by ``uninstall``)."""
        from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415
        from moto.dynamodb.models.dynamo_type import Item  # noqa: PLC0415
        from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

        meter = self
        for name in ("query", "scan"):
            self._backend_originals[name] = getattr(DynamoDBBackend, name)
            setattr(DynamoDBBackend, name, _noting_items_read(getattr(DynamoDBBackend, name)))
        self._original_project = Item.project
        Item.project = _noting_projections(Item.project)  # type: ignore[method-assign]
        for name, measure in (("put_item", _put), ("update_item", _update), ("delete_item", _delete),
                              ("batch_write_item", _batch_write), ("get_item", _get), ("query", _query_or_scan),
                              ("scan", _query_or_scan)):
            original = getattr(DynamoHandler, name)
            self._originals[name] = original

            def handler(response: Any, *, _original: Any = original, _measure: Any = measure) -> Any:
                return _measure(meter, response, _original)

            setattr(DynamoHandler, name, handler)
        return self

    def uninstall(self) -> None:
        """Put moto's handlers back."""
        from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415
        from moto.dynamodb.models.dynamo_type import Item  # noqa: PLC0415
        from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

        for name, original in self._originals.items():
            setattr(DynamoHandler, name, original)
        for name, original in self._backend_originals.items():
            setattr(DynamoDBBackend, name, original)
        if self._original_project is not None:
            Item.project = self._original_project  # type: ignore[method-assign]
            self._original_project = None
        self._originals.clear()
        self._backend_originals.clear()

    def __enter__(self) -> RequestUnitMeter:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def add_write(self, kind: str, units: float, size: int = 0) -> None:
        """Count a write of ``units`` to an item of ``kind`` (``size`` bytes billed)."""
        with self._lock:
            self.write_units[kind] += units
            self.largest_item_bytes = max(self.largest_item_bytes, size)

    def add_read(self, kind: str, units: float) -> None:
        """Count a read of ``units`` of items of ``kind``."""
        with self._lock:
            self.read_units[kind] += units


def _kind(key: dict[str, Any]) -> str:
    """What kind of item a key names: its partition key's value up to the first ``#``."""
    partition = next(iter(key.values()), {})
    return str(next(iter(partition.values()), "")).split("#", 1)[0] or "?"


def _stored(response: Any, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item stored under ``key`` now, as attribute values (None when there is none)."""
    item = response.dynamodb_backend.get_table(table_name).get_item(*_key_values(response, table_name, key))
    return None if item is None else item.to_json()["Attributes"]


def _key_values(response: Any, table_name: str, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    table = response.dynamodb_backend.get_table(table_name)
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _key_of(response: Any, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    table = response.dynamodb_backend.get_table(table_name)
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: item[name] for name in names}


def _size_or_zero(item: dict[str, Any] | None) -> int:
    return 0 if item is None else item_size(item)


def _put(meter: RequestUnitMeter, response: Any, original: Callable[..., Any]) -> Any:
    item = response.body["Item"]
    return _write(meter, response, original, _key_of(response, response.body["TableName"], item),
                  lambda before, after: max(before, item_size(item)))


def _update(meter: RequestUnitMeter, response: Any, original: Callable[..., Any]) -> Any:
    return _write(meter, response, original, response.body["Key"], max)


def _delete(meter: RequestUnitMeter, response: Any, original: Callable[..., Any]) -> Any:
    return _write(meter, response, original, response.body["Key"], lambda before, after: before)


def _write(meter: RequestUnitMeter, response: Any, original: Callable[..., Any], key: dict[str, Any],
           billed_size: Callable[[int, int], int]) -> Any:
    """One PutItem, UpdateItem or DeleteItem: ``billed_size(before, after)`` of the item; a refused condition
    (or any refusal) costs the existing item."""
    table_name = response.body["TableName"]
    before = _size_or_zero(_stored(response, table_name, key))
    try:
        result = original(response)
    except Exception:
        meter.add_write(_kind(key), write_units(before), before)
        raise
    size = billed_size(before, _size_or_zero(_stored(response, table_name, key)))
    meter.add_write(_kind(key), write_units(size), size)
    return result


def _batch_write(meter: RequestUnitMeter, response: Any, original: Callable[..., Any]) -> Any:
    writes = []
    for table_name, requests in response.body["RequestItems"].items():
        for request in requests:
            if "PutRequest" in request:
                item = request["PutRequest"]["Item"]
                key = _key_of(response, table_name, item)
                writes.append((key, max(_size_or_zero(_stored(response, table_name, key)), item_size(item))))
            else:
                key = request["DeleteRequest"]["Key"]
                writes.append((key, _size_or_zero(_stored(response, table_name, key))))
    result = original(response)
    for key, size in writes:
        meter.add_write(_kind(key), write_units(size), size)
    return result


def _get(meter: RequestUnitMeter, response: Any, original: Callable[..., Any]) -> Any:
    body = response.body
    result = original(response)
    size = _size_or_zero(_stored(response, body["TableName"], body["Key"]))
    meter.add_read(_kind(body["Key"]), read_units(size, bool(body.get("ConsistentRead"))))
    return result


def _query_or_scan(meter: RequestUnitMeter, response: Any, original: Callable[..., Any]) -> Any:
    """A Query or Scan: every item it read, together, rounded up to 4 KB."""
    _reading.items = read = []
    try:
        result = original(response)
    finally:
        _reading.items = None
    table_name = response.body["TableName"]
    attributes = [item.to_json()["Attributes"] for item in read]
    kinds = Counter(_kind(_key_of(response, table_name, item)) for item in attributes)
    meter.add_read(kinds.most_common(1)[0][0] if kinds else "(none found)",
                   read_units(sum(item_size(item) for item in attributes), bool(response.body.get("ConsistentRead"))))
    return result


#: The items the backend's query or scan found, for the Query or Scan being measured in this thread.
_reading = threading.local()


def _noting_items_read(original: Callable[..., Any]) -> Callable[..., Any]:
    """``DynamoDBBackend.query`` or ``.scan`` that also notes the items it found (they return items first),
    whole: DynamoDB bills a projected item's full size."""
    def found(*args: Any, **kwargs: Any) -> Any:
        if getattr(_reading, "items", None) is None:
            return original(*args, **kwargs)
        _reading.projected_from = []
        try:
            result = original(*args, **kwargs)
            _reading.items.extend(_reading.projected_from or result[0])
        finally:
            _reading.projected_from = None
        return result
    return found


def _noting_projections(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Item.project`` that notes the whole item it projects, while a Query or Scan is measured."""
    def project(item: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_reading, "projected_from", None) is not None:
            _reading.projected_from.append(item)
        return original(item, *args, **kwargs)
    return project
