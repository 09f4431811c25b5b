"""The contract as shipped: openapi.yaml, and the JSON Schema checks derived from it.

One loader serves the client and the sandbox: a wheel carries the spec as package data
(``spp_activities/openapi.yaml``), a checkout has it at the repository root. The checks
follow whatever spec ``make generate`` was run on, with no overlay edit:

- **Replies** are read tolerantly. The 201 schema is relaxed before it is compiled:
  enums, constants and value constraints (lengths, patterns, bounds) are dropped, ``oneOf``
  becomes ``anyOf`` and closed objects are opened, so a newer API's extra property or new
  enum value passes; only a missing required property, a wrong JSON type or a malformed
  date, date-time or UUID (which the generated model would fail to convert) is a problem.
- **Request bodies** are checked strictly, against the schema as written, with every
  object closed to the properties the spec names: an unknown or mistyped property is a
  problem before anything is sent.

The validators are jsonschema-rs (one wheel without dependencies, compiled once, a few
microseconds per check). Nothing here runs at import time: the spec is read on first use.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

__all__ = [
    "Problem",
    "reply_problem",
    "request_body_problem",
    "spec",
    "spec_text",
]

SPEC_NAME = "openapi.yaml"
#: The operation this package implements.
OPERATION_PATH = "/clients/{user}/activities"
OPERATION_METHOD = "post"
_JSON = "application/json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: (where, what is wrong): ``where`` is a dotted path such as ``author.id`` ("" for the body).
Problem = tuple[str, str]


def spec_text() -> str:
    """The text of openapi.yaml: package data in a wheel, else the repository root.

    A wheel force-includes the contract as ``spp_activities/openapi.yaml``; a checkout
    (an editable install) finds it two levels above ``overlays/spp_activities``.
    """
    try:
        packaged = importlib.resources.files("spp_activities").joinpath(SPEC_NAME)
        if packaged.is_file():
            return packaged.read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        pass
    candidate = Path(__file__).resolve().parents[2] / SPEC_NAME
    if candidate.is_file():
        return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"cannot find {SPEC_NAME}: it is neither package data of spp_activities nor at "
        f"{candidate}; reinstall spp-activities"
    )


@functools.cache
def spec() -> dict[str, Any]:
    """openapi.yaml, parsed once."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(spec_text(), Loader=loader)  # noqa: S506 - a safe loader
    return document


def _operation() -> dict[str, Any]:
    operation: dict[str, Any] = spec()["paths"][OPERATION_PATH][OPERATION_METHOD]
    return operation


def _resolve(node: Any) -> Any:
    """Follow a local ``$ref`` (e.g. to ``#/components/responses/...``)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


# ---------------------------------------------------------------------------
# Deriving the schemas: tolerant for replies, strict for requests.
# ---------------------------------------------------------------------------

#: What a reply is held to: the structure the generated model needs to be built.
_REPLY_KEYWORDS = frozenset(
    {"$ref", "type", "properties", "required", "items", "prefixItems", "allOf", "anyOf"}
)
#: The formats the generated models convert (date, datetime, UUID); others stay strings.
_CONVERTED_FORMATS = frozenset({"date", "date-time", "uuid"})
_JSON_TYPES_BY_VALUE: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    type(None): "null",
    list: "array",
}


def _tolerant(schema: Any) -> Any:
    """``schema`` relaxed to what a tolerant reader requires (see the module docstring)."""
    if not isinstance(schema, dict):
        return schema  # a boolean schema
    relaxed: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties",):
            relaxed[key] = {name: _tolerant(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            relaxed[key] = _tolerant(value)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            relaxed["anyOf" if key == "oneOf" else key] = [_tolerant(sub) for sub in value]
        elif (key == "format" and value in _CONVERTED_FORMATS) or key in _REPLY_KEYWORDS:
            relaxed[key] = value
    if "type" not in schema and ("enum" in schema or "const" in schema):
        values = schema.get("enum", [schema.get("const")])
        types = sorted({_JSON_TYPES_BY_VALUE.get(type(v), "object") for v in values})
        relaxed["type"] = types[0] if len(types) == 1 else types
    return relaxed


def _strict(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed to them."""
    if not isinstance(schema, dict):
        return schema
    closed: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            closed[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            closed[key] = _strict(value)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            closed[key] = [_strict(sub) for sub in value]
        else:
            closed[key] = value
    composed = any(key in schema for key in ("allOf", "anyOf", "oneOf", "$ref"))
    if "properties" in schema and "additionalProperties" not in schema and not composed:
        closed["additionalProperties"] = False
    return closed


def _validator(schema: Any, transform: Callable[[Any], Any]) -> jsonschema_rs.Validator:
    """A compiled validator for ``schema``, with the spec's component schemas beside it so
    its ``#/components/schemas/...`` references resolve."""
    components = spec().get("components", {}).get("schemas", {})
    root = {
        "$schema": _DIALECT,
        **transform(schema),
        "components": {"schemas": {name: transform(sub) for name, sub in components.items()}},
    }
    return jsonschema_rs.validator_for(root, validate_formats=True)


@functools.cache
def _reply_validator() -> jsonschema_rs.Validator:
    response = _resolve(_operation()["responses"]["201"])
    return _validator(response["content"][_JSON]["schema"], _tolerant)


@functools.cache
def _request_validator() -> jsonschema_rs.Validator:
    body = _resolve(_operation()["requestBody"])
    return _validator(body["content"][_JSON]["schema"], _strict)


# ---------------------------------------------------------------------------
# Checking.
# ---------------------------------------------------------------------------


def reply_problem(data: Any) -> Problem | None:
    """What is wrong with a decoded 201 body under the (tolerant) contract, or None."""
    try:
        return _first_problem(_reply_validator(), data)
    except UnicodeEncodeError:  # a lone surrogate escaped in the JSON: judge the rest
        return _first_problem(_reply_validator(), _without_surrogates(data))


def request_body_problem(data: Mapping[str, Any]) -> Problem | None:
    """What is wrong with a request body under the (strict) contract, or None.

    Raises:
        UnicodeEncodeError: a string holds a lone surrogate, which JSON cannot carry.
    """
    return _first_problem(_request_validator(), data)


def _first_problem(validator: jsonschema_rs.Validator, data: Any) -> Problem | None:
    if validator.is_valid(data):  # the fast path: no error objects are built
        return None
    return _describe(next(iter(validator.iter_errors(data))))


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def _json_type(value: object) -> str:
    """The JSON type of a decoded value, with its article: "an integer", "null"."""
    return _json_type_name(_JSON_TYPES_BY_VALUE.get(type(value), "object"))


_FORMAT_RULES = {
    "date-time": "an RFC 3339 date-time with a time zone",
    "date": "an RFC 3339 full-date (YYYY-MM-DD)",
    "uuid": "a UUID",
}


def _describe(error: jsonschema_rs.ValidationError) -> Problem:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path)
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return f"{where}.{kind.property}"[1:], "is missing"
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
        expected = " or ".join(_json_type_name(t) for t in kind.types)
        return where[1:], f"must be {expected}, got {_json_type(error.instance)}"
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Format):
        rule = _FORMAT_RULES.get(kind.format, f"a {kind.format!r} string")
        return where[1:], f"must be {rule}, got {str(error.instance)[:40]!r}"
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        names = ", ".join(repr(name) for name in kind.unexpected)
        return where[1:], f"has properties the contract does not define: {names}"
    return where[1:], error.message


def _json_type_name(name: str) -> str:
    """A JSON Schema type name with its article: "integer" -> "an integer"."""
    return "null" if name == "null" else f"an {name}" if name[0] in "aeiou" else f"a {name}"
