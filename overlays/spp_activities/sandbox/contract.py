"""The sandbox's judge: requests are checked against openapi.yaml itself with openapi-core.

openapi-core's own answers (403 for security, 400 for everything else) are mapped to the
statuses and Laravel-style bodies the contract documents:

- no usable bearer credentials -> 401 {"message": "Unauthenticated."}
- a `user` path parameter that is not a client ID (not an integer >= 1) -> 404, as Laravel's
  route-model binding answers an ID it cannot find
- a missing, malformed or invalid body, or a body that is not JSON -> 400 with `errors.content`
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from jsonschema import FormatChecker
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.exceptions import (
    MissingRequestBodyError,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.schemas import oas31_schema_validators_factory
from openapi_core.validation.schemas.datatypes import FormatValidatorsDict
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_core.validation.schemas.factories import DialectSchemaValidatorsFactory

from .. import contract

CONTENT_REQUIRED = "The content field is required."
CONTENT_NOT_STRING = "The content field must be a string."
CLIENT_NOT_FOUND = "Client not found."
UNAUTHENTICATED = "Unauthenticated."
# openapi-core matches the full URL against the spec's server `https://{workspaceUrl}/api`;
# the host is irrelevant to the sandbox, so every request is presented under this one.
_SERVER_ROOT = "https://sandbox.invalid"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request the contract refuses: the status and the Laravel-style body to answer with."""

    status: int
    message: str
    errors: dict[str, list[str]] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def content_error(message: str, reason: str = CONTENT_REQUIRED) -> Rejection:
    """A 400 about the request body, Laravel-style: a message and `errors.content`."""
    return Rejection(400, message, {"content": [reason]})


class _ContractRequest:
    """The request as openapi-core's Request protocol wants to see it."""

    __slots__ = ("body", "content_type", "host_url", "method", "parameters", "path")

    def __init__(
        self, *, path: str, headers: Mapping[str, str], body: bytes | None, content_type: str
    ) -> None:
        self.host_url = _SERVER_ROOT
        self.path = path
        self.method = "post"
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(header=headers, query={}, cookie={})


class _SharedFormatCheckerFactory(DialectSchemaValidatorsFactory):
    """openapi-core's OpenAPI 3.1 schema validators, sharing one format checker.

    openapi-core deep-copies jsonschema's FormatChecker for every schema it checks, which
    was about a third of the sandbox's time per request. Nothing changes the checker once
    built, so one copy serves every request.
    """

    def __init__(self) -> None:
        base = oas31_schema_validators_factory
        super().__init__(
            base.schema_validator_cls, base.default_jsonschema_dialect_id, base.format_checker
        )
        self._shared_checker = super().get_format_checker()

    def get_format_checker(
        self,
        format_validators: FormatValidatorsDict | None = None,
        extra_format_validators: FormatValidatorsDict | None = None,
    ) -> FormatChecker:
        if format_validators is None and extra_format_validators is None:
            return self._shared_checker
        return super().get_format_checker(format_validators, extra_format_validators)


class ContractValidator:
    """Built once per sandbox (parsing the spec is slow), then reused for every request."""

    def __init__(self, text: str | None = None) -> None:
        # openapi-core only reads the document, so the core's parsed copy is shared.
        spec = yaml.safe_load(text) if text is not None else contract.spec()
        config = Config(schema_validators_factory=_SharedFormatCheckerFactory())
        self._validator = OpenAPI.from_dict(spec, config=config).request_validator

    def check_create(
        self,
        *,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
        content_type: str | None,
    ) -> Rejection | None:
        """Check a create-activity request; None when the contract accepts it.

        Security comes first, then the path (an unknown client is a 404 even with a bad
        body, as Laravel binds the route before validating), then the body.
        """
        if body is not None and not _is_json(body):
            body = b"{"  # judged as the malformed JSON it is: a 400, after 401 and 404
        request = _ContractRequest(
            path=path,
            headers=headers,
            body=body,
            # RFC 9110: a body without a Content-Type is application/octet-stream.
            content_type=_parsable_media_type(content_type or "application/octet-stream"),
        )
        errors = list(self._validator.iter_errors(request))
        if not errors:
            return None
        return min((_rejection_for(error) for error in errors), key=_precedence)


def _parsable_media_type(content_type: str) -> str:
    """The Content-Type without parameters openapi-core cannot split into one name and one
    value (it raises ValueError, a 500, on "application/json; charset"). Like Laravel, which
    only looks for "/json", the sandbox lets such a malformed parameter pass."""
    media_type, *parameters = content_type.lower().split(";")
    return ";".join([media_type, *(p for p in parameters if p.count("=") == 1)])


def _is_json(body: bytes) -> bool:
    """Whether `body` is JSON (RFC 8259). openapi-core reads it with Python's json, which
    also takes NaN and Infinity, and raises RecursionError on deep nesting (a 500)."""
    try:
        json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return False
    return True


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _precedence(rejection: Rejection) -> int:
    return {401: 0, 404: 1}.get(rejection.status, 2)


def _rejection_for(error: Exception) -> Rejection:
    if isinstance(error, SecurityValidationError):
        return Rejection(401, UNAUTHENTICATED)
    if isinstance(error, PathError):
        return Rejection(404, "Not Found.")
    if isinstance(error, ParameterValidationError):
        if error.location == "path":
            return Rejection(404, CLIENT_NOT_FOUND)
        return Rejection(
            400,
            f"The {error.name} {error.location} is invalid.",
            {error.name: [f"The {error.name} {error.location} is invalid."]},
        )
    if isinstance(error, MissingRequestBodyError):
        return content_error(CONTENT_REQUIRED)
    if isinstance(error, RequestBodyValidationError):
        cause = error.__cause__
        if isinstance(cause, MediaTypeNotFound):
            return content_error(
                "The request body must be JSON sent with Content-Type: application/json."
            )
        if isinstance(cause, MediaTypeDeserializeError):
            return content_error("The request body is not valid JSON.")
        if isinstance(cause, InvalidSchemaValue):
            message = _content_message(cause)
            return content_error(message, message)
    return content_error("The request body is invalid.")


def _content_message(error: InvalidSchemaValue) -> str:
    """Laravel's message for the first schema error about the body."""
    for schema_error in error.schema_errors:
        path = list(getattr(schema_error, "path", ()))
        is_type_error = getattr(schema_error, "validator", None) == "type"
        # Laravel's `required` rule treats null like a missing field.
        is_null = getattr(schema_error, "instance", None) is None
        if path[:1] == ["content"] and is_type_error and not is_null:
            return CONTENT_NOT_STRING
    # Missing, empty, blank (Laravel trims strings, so blank is missing) or not an object.
    return CONTENT_REQUIRED
