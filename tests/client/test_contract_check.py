"""Replies and request bodies are judged by openapi.yaml itself (spp_activities.contract):
tolerantly for replies, strictly for bodies. The evolution tests (tests/spec/
test_evolution.py) prove the same through regenerated clients; these pin the rules."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest
import yaml
from spp_activities import InvalidInputError, InvalidResponseError, SPPClient, contract
from spp_activities.replies import parse_activity
from spp_activities.sandbox import Sandbox
from spp_activities.sandbox import contract as sandbox_contract
from spp_api.models import Activity, ActivityCreate, Author

ACTIVITY = {
    "id": 7,
    "content": "Met on site.",
    "created_at": "2025-12-19T10:00:00.000000Z",
    "updated_at": "2025-12-19T10:00:00.000000Z",
    "author": {"id": 456, "name": "John Doe", "email": "john@example.com"},
}


def test_the_reply_schema_keeps_structure_and_drops_what_a_newer_api_may_change() -> None:
    relaxed = contract._tolerant(
        {
            "type": "object",
            "required": ["a"],
            "additionalProperties": False,
            "properties": {
                "a": {"type": "string", "enum": ["x"], "maxLength": 3, "pattern": "^x$"},
                "b": {"enum": [1, 2]},
                "c": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
                "d": {"type": "string", "format": "email"},
                "e": {"type": "string", "format": "date-time"},
                "f": {"type": "array", "items": {"type": "string", "enum": ["y"]}, "maxItems": 1},
            },
        }
    )
    assert relaxed == {
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "integer"},
            "c": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "d": {"type": "string"},
            "e": {"type": "string", "format": "date-time"},
            "f": {"type": "array", "items": {"type": "string"}},
        },
    }


def test_the_request_schema_closes_objects_that_list_their_properties() -> None:
    strict = contract._strict(
        {
            "type": "object",
            "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}},
        }
    )
    assert strict["additionalProperties"] is False
    assert strict["properties"]["m"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }


@pytest.mark.parametrize(
    ("reply", "where", "what"),
    [
        ({**ACTIVITY, "author": {"id": 1, "name": 5}}, "author.name", "must be a string"),
        ({k: v for k, v in ACTIVITY.items() if k != "author"}, "author", "is missing"),
        ({**ACTIVITY, "id": True}, "id", "must be an integer, got a boolean"),
        ([ACTIVITY], "", "must be an object, got an array"),
    ],
)
def test_a_reply_that_breaks_the_contract_names_the_field(
    reply: Any, where: str, what: str
) -> None:
    problem = contract.reply_problem(reply)
    assert problem is not None
    assert problem[0] == where
    assert problem[1].startswith(what)


def test_a_lone_surrogate_in_a_reply_is_read_not_refused() -> None:
    body = b'{"id": 7, "content": "half \\ud800", "created_at": "2025-12-19T10:00:00Z",'
    body += b' "updated_at": "2025-12-19T10:00:00Z", "author": {}}'
    activity = parse_activity(httpx.Response(201, content=body))
    assert activity.content == "half \ud800"


def test_a_failure_inside_from_dict_names_the_field() -> None:
    reply = {**ACTIVITY, "updated_at": "2016-12-31T23:59:60Z"}  # RFC 3339 leap second
    with pytest.raises(InvalidResponseError, match="field 'updated_at' cannot be read"):
        parse_activity(httpx.Response(201, json=reply))


@pytest.mark.parametrize(
    ("author", "message"),
    [
        ({"id": "456"}, "field 'author.id' must be an integer, got a string"),
        ({"id": 456, "name": ["John"]}, "field 'author.name' must be a string, got an array"),
        ({"email": None}, "field 'author.email' must be a string, got null"),
        ("John Doe", "field 'author' must be an object, got a string"),
    ],
)
def test_a_nested_field_that_breaks_the_contract_is_named_by_its_path(
    author: Any, message: str
) -> None:
    with pytest.raises(InvalidResponseError, match=re.escape(message)):
        parse_activity(httpx.Response(201, json={**ACTIVITY, "author": author}))


def _raises(exc: Exception) -> Any:
    def from_dict(cls: type, src_dict: Any) -> Any:
        raise exc

    return classmethod(from_dict)


def test_a_failure_inside_a_nested_from_dict_names_the_property_it_was_building(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Author, "from_dict", _raises(ValueError("bad author")))
    with pytest.raises(
        InvalidResponseError, match="field 'author' cannot be read: ValueError: bad author"
    ):
        parse_activity(httpx.Response(201, json=ACTIVITY))


def test_a_failure_that_names_no_field_blames_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    """When no generated frame shows the field (here from_dict itself is replaced), the
    error is still a typed InvalidResponseError, about the body."""
    monkeypatch.setattr(Activity, "from_dict", _raises(KeyError("surprise")))
    with pytest.raises(InvalidResponseError) as caught:
        parse_activity(httpx.Response(201, json=ACTIVITY))
    assert "breaks the contract: the body cannot be read: KeyError: 'surprise'" in str(caught.value)


def test_the_sandbox_shares_the_parsed_contract_and_leaves_it_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = contract.spec()
    pristine = copy.deepcopy(parsed)

    def no_second_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("openapi.yaml parsed again")

    monkeypatch.setattr(yaml, "safe_load", no_second_parse)
    validator = sandbox_contract.ContractValidator()
    rejection = validator.check_create(
        path="/api/clients/1/activities",
        headers={"Authorization": "Bearer x", "Content-Type": "application/json"},
        body=b'{"content": "x"}',
        content_type="application/json",
    )
    assert rejection is None
    assert contract.spec() is parsed
    assert parsed == pristine


# --- request bodies: a generated ActivityCreate, checked before anything is sent ----


def test_a_generated_activity_create_is_sent_as_it_is(sandbox: Sandbox) -> None:
    body = ActivityCreate(content="Sent as a model.")
    with SPPClient(sandbox.workspace_url, sandbox.token) as client:
        activity = client.activities.create(1, body)
    assert activity.content == "Sent as a model."
    assert [a["content"] for a in sandbox.activities()] == ["Sent as a model."]


def _unknown_property() -> ActivityCreate:
    body = ActivityCreate(content="x")
    body["colour"] = "red"
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_unknown_property(), "properties the contract does not define: 'colour'"),
        (ActivityCreate(content=5), "ActivityCreate.content must be a str, got int"),  # type: ignore[arg-type]
        (ActivityCreate(content=" \n"), "ActivityCreate.content must contain"),
        (ActivityCreate(content="half \ud800"), "cannot be encoded as UTF-8"),
        (ActivityCreate.from_dict({"content": "x", "tags": {1, 2}}), "JSON cannot carry"),
    ],
    ids=["unknown name", "wrong type", "blank", "surrogate", "not JSON"],
)
def test_a_body_that_breaks_the_contract_is_refused_before_sending(
    sandbox: Sandbox, body: ActivityCreate, message: str
) -> None:
    with (
        SPPClient(sandbox.workspace_url, sandbox.token) as client,
        pytest.raises(InvalidInputError, match=message) as caught,
    ):
        client.activities.create(1, body)
    assert caught.value.argument == "content"
    assert "nothing was sent" in str(caught.value)
    assert sandbox.stats()["requests"] == 0


def test_content_of_another_type_names_both_accepted_types(sandbox: Sandbox) -> None:
    with (
        SPPClient(sandbox.workspace_url, sandbox.token) as client,
        pytest.raises(InvalidInputError, match=r"must be a str or a spp_api\.models\.Activ"),
    ):
        client.activities.create(1, {"content": "x"})  # type: ignore[arg-type]
