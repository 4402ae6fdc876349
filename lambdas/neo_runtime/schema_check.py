"""A small JSON Schema checker for the keywords the manifest schema uses.

The Lambda asset carries no third-party packages, so this implements the subset of
JSON Schema 2020-12 that ``manifest.schema.json`` needs (type, enum, const, required,
properties, additionalProperties, propertyNames, items, min/max counts and lengths,
pattern, minimum/maximum, uniqueItems, oneOf, local ``$ref``). The test suite checks
that it agrees with the ``jsonschema`` library on a catalogue of documents.

Every problem is reported, not just the first, as a path (``DataInputConfig.data[1]``)
and a sentence a person understands.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


_SHELL_METACHARACTERS = frozenset(" \t;&|$`<>()[]{}*?!~#'\"\\")


@dataclass(frozen=True)
class SchemaViolation:
    """One place where a document breaks its schema."""

    path: str
    message: str


def check(document: Any, schema: dict[str, Any]) -> list[SchemaViolation]:
    """Return every violation of ``schema`` by ``document`` (empty when it conforms)."""
    violations: list[SchemaViolation] = []
    _check(document, schema, schema, "", violations)
    return violations


def _check(
    value: Any, schema: dict[str, Any], root: dict[str, Any], path: str, out: list[SchemaViolation]
) -> None:
    if "$ref" in schema:
        _check(value, _resolve(schema["$ref"], root), root, path, out)
        return
    if "oneOf" in schema:
        _check_one_of(value, schema["oneOf"], root, path, out)
        return
    expected = schema.get("type")
    if expected is not None and not _is_type(value, expected):
        out.append(SchemaViolation(path, f"must be {_TYPE_NAMES[expected]}, not {_describe(value)}"))
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        out.append(SchemaViolation(path, f"must be one of {allowed}, not {_short(value)}{_suggestion(value, schema)}"))
    if isinstance(value, str):
        _check_string(value, schema, path, out)
    elif isinstance(value, bool):
        pass
    elif isinstance(value, (int, float)):
        _check_number(value, schema, path, out)
    elif isinstance(value, list):
        _check_array(value, schema, root, path, out)
    elif isinstance(value, dict):
        _check_object(value, schema, root, path, out)


def _check_one_of(
    value: Any, options: list[dict[str, Any]], root: dict[str, Any], path: str,
    out: list[SchemaViolation],
) -> None:
    results = []
    for option in options:
        found: list[SchemaViolation] = []
        _check(value, option, root, path, found)
        results.append(found)
    passing = sum(1 for found in results if not found)
    if passing == 1:
        return
    # Report the alternative of the value's own type when there is one: that is what the
    # author meant, and its messages are precise.
    for option, found in zip(options, results, strict=True):
        if found and _is_type(value, _resolve_type(option, root)):
            out.extend(found)
            return
    kinds = " or ".join(_TYPE_NAMES[_resolve_type(o, root)] for o in options)
    out.append(SchemaViolation(path, f"must be {kinds}, not {_describe(value)}"))


def _suggestion(value: Any, schema: dict[str, Any]) -> str:
    """``; did you mean X?`` for a near miss of an enum value (another case, or a close spelling)."""
    if not isinstance(value, str):
        return ""
    options = [option for option in schema["enum"] if isinstance(option, str)]
    same_case = [option for option in options if option.lower() == value.lower()]
    close = same_case or difflib.get_close_matches(value.upper(), [o.upper() for o in options], n=1, cutoff=0.6)
    if not close:
        return ""
    match = next(option for option in options if option.upper() == close[0].upper())
    return f"; did you mean {json.dumps(match)}?"


def _check_string(value: str, schema: dict[str, Any], path: str, out: list[SchemaViolation]) -> None:
    """One violation per string, however many of its rules it breaks (the format first, then the length)."""
    problems = []
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(_pattern_message(value))
    if len(value) < schema.get("minLength", 0):
        problems.append(f"must have at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"must have at most {schema['maxLength']} characters")
    if problems:
        out.append(SchemaViolation(path, ", and ".join(problems)))


def control_characters(text: str) -> str | None:
    """``contains control characters (U+0009, ...)`` when ``text`` holds any (C0, DEL or C1), else None."""
    controls = sorted({f"U+{ord(ch):04X}" for ch in text if ord(ch) < 32 or 127 <= ord(ch) < 160})
    return f"contains control characters ({', '.join(controls)})" if controls else None


def _pattern_message(value: str) -> str:
    controls = control_characters(value)
    if controls:
        return controls
    specials = sorted({ch for ch in value if ch in _SHELL_METACHARACTERS})
    if specials:
        listed = " ".join(repr(ch) for ch in specials)
        return f"contains characters that are not allowed here ({listed}): {_short(value)}"
    return f"has an invalid format: {_short(value)}"


def _check_number(value: float, schema: dict[str, Any], path: str, out: list[SchemaViolation]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        out.append(SchemaViolation(path, f"must be at least {schema['minimum']}, not {value}"))
    if "maximum" in schema and value > schema["maximum"]:
        out.append(SchemaViolation(path, f"must be at most {schema['maximum']}, not {value}"))


def _check_array(
    value: list[Any], schema: dict[str, Any], root: dict[str, Any], path: str,
    out: list[SchemaViolation],
) -> None:
    if len(value) < schema.get("minItems", 0):
        out.append(SchemaViolation(path, f"must have at least {schema['minItems']} item(s)"))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(SchemaViolation(path, f"must have at most {schema['maxItems']} items"))
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for item in value:
            if item in seen:
                out.append(SchemaViolation(path, f"lists {_short(item)} more than once"))
                break
            seen.append(item)
    if "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], root, f"{path}[{index}]", out)


def _check_object(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str,
    out: list[SchemaViolation],
) -> None:
    for name in schema.get("required", []):
        if name not in value:
            out.append(SchemaViolation(_join(path, name), "is required but missing"))
    if len(value) < schema.get("minProperties", 0):
        out.append(SchemaViolation(path, f"must have at least {schema['minProperties']} entry"))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.append(SchemaViolation(path, f"must have at most {schema['maxProperties']} entries"))
    properties = schema.get("properties", {})
    additional = schema.get("additionalProperties", True)
    names_schema = schema.get("propertyNames")
    for name, item in value.items():
        item_path = _join(path, name)
        if names_schema is not None:
            name_problems: list[SchemaViolation] = []
            _check(name, names_schema, root, item_path, name_problems)
            if name_problems:
                out.append(SchemaViolation(item_path, "is not an allowed name"))
                continue
        if name in properties:
            _check(item, properties[name], root, item_path, out)
        elif additional is False:
            out.append(SchemaViolation(item_path, _unknown_field_message(name, properties)))
        elif isinstance(additional, dict):
            _check(item, additional, root, item_path, out)


def _unknown_field_message(name: str, properties: dict[str, Any]) -> str:
    close = [known for known in properties if known.lower() == name.lower()]
    if close:
        return f"is not a known field; did you mean {close[0]}?"
    return "is not a known field; remove it (field names are case-sensitive)"


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref is supported, got {ref}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _resolve_type(schema: dict[str, Any], root: dict[str, Any]) -> str:
    while "$ref" in schema:
        schema = _resolve(schema["$ref"], root)
    return schema.get("type", "object")


def _is_type(value: Any, expected: str) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "null":
        return value is None
    python_type = {"object": dict, "array": list, "string": str}[expected]
    return isinstance(value, python_type)


def _describe(value: Any) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):  # integer before number
        if _is_type(value, kind):
            return _TYPE_NAMES[kind]
    return type(value).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
