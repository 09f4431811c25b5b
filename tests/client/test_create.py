"""activities.create on both clients: request shape, success, input validation,
every status in the error tree and replies that break the contract."""

from __future__ import annotations

import datetime
import json
from typing import Any

import httpx
import pytest
from client_helpers import Api
from spp_activities import (
    Activity,
    APIStatusError,
    AuthenticationError,
    Author,
    BadRequestError,
    InvalidInputError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RawResponse,
    ServerError,
    SPPError,
    UnprocessableEntityError,
    __version__,
)

# --- success and the request on the wire ------------------------------------


def test_create_returns_the_generated_activity(api: Api) -> None:
    activity = api.reply(api.created()).create(7, "Client called to discuss project requirements.")

    assert isinstance(activity, Activity)
    assert activity.id == 7
    assert activity.content == "Client called to discuss project requirements."
    utc = datetime.UTC
    assert activity.created_at == datetime.datetime(2025, 12, 19, 10, 0, tzinfo=utc)
    assert activity.created_at.utcoffset() == datetime.timedelta(0)
    assert isinstance(activity.author, Author)
    assert (activity.author.id, activity.author.name) == (456, "John Doe")


def test_request_carries_path_body_and_headers(api: Api) -> None:
    api.reply(api.created()).create(42, "Called about the invoice")

    [request] = api.requests
    assert request.method == "POST"
    assert str(request.url) == "https://example.spp.co/api/clients/42/activities"
    assert api.bodies == [{"content": "Called about the invoice"}]
    headers = request.headers
    assert headers["Authorization"] == f"Bearer {api.TOKEN}"
    assert headers["X-Api-Version"] == "2024-03-05"
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith(f"spp-activities/{__version__} python-httpx/")


def test_api_version_is_configurable(api: Api) -> None:
    api.client_options["api_version"] = "2025-01-01"
    api.reply(api.created()).create(1, "x")
    assert api.requests[0].headers["X-Api-Version"] == "2025-01-01"


def test_default_timeouts_are_explicit(api: Api) -> None:
    api.reply(api.created()).create(1, "x")
    assert api.requests[0].extensions["timeout"] == {
        "connect": 5.0,
        "read": 30.0,
        "write": 30.0,
        "pool": 10.0,
    }


def test_timeout_per_client_and_per_call(api: Api) -> None:
    api.client_options["timeout"] = 3
    api.reply(api.created(), api.created())
    api.create(1, "x")
    api.create(1, "x", timeout=httpx.Timeout(1.0, connect=2.0))
    assert api.requests[0].extensions["timeout"] == dict.fromkeys(
        ("connect", "read", "write", "pool"), 3.0
    )
    assert api.requests[1].extensions["timeout"] == {
        "connect": 2.0,
        "read": 1.0,
        "write": 1.0,
        "pool": 1.0,
    }


def test_extra_headers_add_and_remove(api: Api) -> None:
    api.reply(api.created()).create(
        1, "x", extra_headers={"Prefer": "code=201", "Authorization": None}
    )
    headers = api.requests[0].headers
    assert headers["Prefer"] == "code=201"
    assert "Authorization" not in headers


def test_unknown_fields_and_missing_optional_author_fields_are_accepted(api: Api) -> None:
    body = {**api.ACTIVITY, "author": {"name": "Only a name"}, "client_id": 3}
    activity = api.reply(api.created(body)).create(1, "x")
    assert activity.author.name == "Only a name"
    assert activity["client_id"] == 3  # kept in additional_properties


def test_content_is_sent_unchanged(api: Api) -> None:
    content = '  Zoë called ☎\nabout 𝄞 and "quotes"  '
    api.reply(api.created()).create(1, content)
    assert api.bodies == [{"content": content}]


# --- raw response ------------------------------------------------------------


def test_with_raw_response_gives_headers_and_parses(api: Api) -> None:
    raw = api.reply(api.created()).create(7, "x", raw=True)

    assert isinstance(raw, RawResponse)
    assert raw.status_code == 201
    assert raw.headers["X-Api-Version"] == "2024-03-05"
    assert raw.api_version == "2024-03-05"
    assert isinstance(raw.http_response, httpx.Response)
    activity = raw.parse()
    assert activity.id == 7
    assert raw.parse() is activity


def test_with_raw_response_defers_contract_check_to_parse(api: Api) -> None:
    raw = api.reply(api.created({"id": 7})).create(7, "x", raw=True)
    assert raw.status_code == 201
    with pytest.raises(InvalidResponseError, match="'content' is missing"):
        raw.parse()


def test_with_raw_response_still_raises_status_errors(api: Api) -> None:
    api.reply(api.error(404, {"message": "Client not found."}))
    with pytest.raises(NotFoundError):
        api.create(999999, "x", raw=True)


# --- input validation: an error naming the argument, nothing sent ------------


class OddInt(int):
    """An int subclass that formats itself as something else."""

    def __format__(self, spec: str) -> str:
        return "1/../../admin"


def test_an_int_subclass_is_sent_as_its_number(api: Api) -> None:
    api.reply(api.created()).create(OddInt(12), "x")
    assert api.requests[0].url.path == "/api/clients/12/activities"


@pytest.mark.parametrize(
    "client_id",
    # 10**5000: int -> str refuses so many digits, a bare ValueError before
    [
        *[0, -1, True, False, "1", 1.0, None, [1], 2**63],
        pytest.param(10**5000, id="10**5000"),
        pytest.param(-(10**5000), id="-10**5000"),
    ],
)
def test_bad_client_id_is_refused_before_sending(api: Api, client_id: Any) -> None:
    with pytest.raises(InvalidInputError, match="client_id") as caught:
        api.create(client_id, "x")
    assert caught.value.argument == "client_id"
    assert caught.value.may_have_been_created is False
    assert isinstance(caught.value, ValueError)
    assert api.requests == []


@pytest.mark.parametrize(
    "content", ["", "   ", "\n\t", "\u3000\u00a0", "\ufeff", None, 5, b"bytes"]
)
def test_bad_content_is_refused_before_sending(api: Api, content: Any) -> None:
    with pytest.raises(InvalidInputError, match="content") as caught:
        api.create(1, content)
    assert caught.value.argument == "content"
    assert api.requests == []


def test_content_that_cannot_be_encoded_is_refused_before_sending(api: Api) -> None:
    with pytest.raises(InvalidInputError, match="UTF-8"):
        api.create(1, "half a pair: \ud800")
    assert api.requests == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_retries", -1),
        ("max_retries", True),
        ("timeout", 0),
        ("timeout", "5"),
        # sockets cannot wait that long: httpx would raise a bare OverflowError
        ("timeout", float("inf")),
        ("timeout", 1e300),
        ("timeout", httpx.Timeout(5.0, read=float("nan"))),
        ("extra_headers", {"X-Bad": "a\r\nInjected: yes"}),
        ("extra_headers", {"X-Bad": 5}),
        ("extra_headers", {"X-Bad": "a\x0bb"}),  # h11 would refuse it after the retries
        ("extra_headers", {"X Bad": "v"}),  # not an RFC 9110 token
        ("extra_headers", {"\u00dc": "v"}),  # httpx itself raised a KeyError
        ("extra_headers", [("X-Trace", "1")]),  # not a mapping
        ("extra_headers", "X-Trace: 1"),
        ("attempt_deadline", 0),
        ("attempt_deadline", float("nan")),
        ("call_deadline", -1),
        ("call_deadline", "10"),
        # headers that frame the message: h11 refused them after they were on the wire
        *[
            ("extra_headers", {name: value})
            for name, value in [
                ("Content-Length", "1"),
                ("content-length", "999"),
                ("Host", "evil.example"),
                ("Transfer-Encoding", "chunked"),
                ("Connection", "close"),
                ("Upgrade", "h2c"),
                ("TE", "trailers"),
                ("Trailer", "X-Sum"),
                ("Expect", "100-continue"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Connection", "keep-alive"),
                ("Accept-Encoding", "br"),
            ]
        ],
    ],
)
def test_bad_per_call_options_are_refused_before_sending(api: Api, option: str, value: Any) -> None:
    with pytest.raises(InvalidInputError, match=option) as caught:
        api.create(1, "x", **{option: value})
    assert caught.value.argument == option
    assert api.requests == []


def test_an_unknown_per_call_option_is_a_type_error(api: Api) -> None:
    with pytest.raises(TypeError, match="timeout_s"):
        api.create(1, "x", timeout_s=5)
    assert api.requests == []


def test_per_call_deadlines_and_authorization_override(api: Api) -> None:
    api.reply(api.created(), api.created())
    api.create(1, "x", extra_headers={"Authorization": "Token other"})
    api.create(1, "x", attempt_deadline=2.0, call_deadline=3.0)
    assert api.requests[0].headers["Authorization"] == "Token other"
    # every phase's timeout is clipped to the time left before the deadline
    assert all(seconds <= 2.0 for seconds in api.requests[1].extensions["timeout"].values())


# --- every status in the error tree -------------------------------------------

LARAVEL_400 = {
    "message": "The content field is required.",
    "errors": {"content": ["The content field is required."]},
}
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

STATUS_TABLE = [
    # status, body, headers, class, may_have_been_created, server message
    (400, LARAVEL_400, None, BadRequestError, False, "The content field is required."),
    (401, {"message": "Unauthenticated."}, None, AuthenticationError, False, "Unauthenticated."),
    (403, {"message": "Forbidden."}, None, PermissionDeniedError, False, "Forbidden."),
    (404, {"message": "Client not found."}, None, NotFoundError, False, "Client not found."),
    (422, LARAVEL_400, None, UnprocessableEntityError, False, "The content field is required."),
    (429, {"message": "Too Many Attempts."}, None, RateLimitError, False, "Too Many Attempts."),
    (500, {"message": "Server Error"}, None, ServerError, True, "Server Error"),
    (502, HTML_502, {"Content-Type": "text/html"}, ServerError, True, None),
    (503, {"message": "Down for maintenance"}, None, ServerError, False, "Down for maintenance"),
    (504, None, None, ServerError, True, None),
    (520, "", None, ServerError, True, None),
    (418, {"message": "I'm a teapot"}, None, APIStatusError, False, "I'm a teapot"),
    (499, None, None, APIStatusError, False, None),
    (404, "Not Found", {"Content-Type": "text/plain"}, NotFoundError, False, None),
    (400, [1, 2], None, BadRequestError, False, None),
    (400, {"message": 5}, None, BadRequestError, False, None),
    (302, None, {"Location": "https://other.example/"}, APIStatusError, True, None),
    (304, None, None, APIStatusError, True, None),
    # a final 1xx (HTTP/1.1 treats them as interim; a broken proxy might not)
    (100, None, None, APIStatusError, True, None),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_class", "may_have_been_created", "message"),
    STATUS_TABLE,
    ids=[f"{row[0]}-{type(row[1]).__name__}" for row in STATUS_TABLE],
)
def test_every_status_maps_to_a_typed_error(
    api: Api,
    status: int,
    body: Any,
    headers: dict[str, str] | None,
    error_class: type[APIStatusError],
    may_have_been_created: bool,
    message: str | None,
) -> None:
    api.reply(api.error(status, body, headers))
    with pytest.raises(SPPError) as caught:
        api.create(1, "x", max_retries=0)

    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert error.response.status_code == status
    assert error.message == message
    assert error.api_version == "2024-03-05"
    assert error.may_have_been_created is may_have_been_created
    text = str(error)
    assert text.startswith(f"{status} ")
    assert "X-Api-Version: 2024-03-05" in text
    if message is not None:
        assert message in text
    expected = "may have been created" if may_have_been_created else "was not created"
    assert expected in text
    assert len(api.requests) == 1


def test_field_errors_are_exposed_and_shown(api: Api) -> None:
    api.reply(api.error(400, LARAVEL_400))
    with pytest.raises(BadRequestError) as caught:
        api.create(1, "x")
    assert caught.value.errors == {"content": ["The content field is required."]}
    assert str(caught.value) == (
        "400 Bad Request: The content field is required. "
        "[content: The content field is required.] "
        "(X-Api-Version: 2024-03-05; the activity was not created)"
    )


def test_not_found_message_reads_well(api: Api) -> None:
    api.reply(api.error(404, {"message": "Client not found."}))
    with pytest.raises(NotFoundError) as caught:
        api.create(999999, "x")
    assert str(caught.value) == (
        "404 Not Found: Client not found. (X-Api-Version: 2024-03-05; the activity was not created)"
    )
    assert caught.value.errors == {}


def test_malformed_field_errors_keep_the_message(api: Api) -> None:
    api.reply(api.error(400, {"message": "Bad.", "errors": {"content": "not a list"}}))
    with pytest.raises(BadRequestError) as caught:
        api.create(1, "x")
    assert caught.value.message == "Bad."
    assert caught.value.errors == {}


def test_html_502_says_what_came_back(api: Api) -> None:
    api.reply(api.error(502, HTML_502, {"Content-Type": "text/html; charset=utf-8"}))
    with pytest.raises(ServerError) as caught:
        api.create(1, "x")
    assert "502 Bad Gateway: the reply is not JSON (text/html" in str(caught.value)
    assert "<html>" not in str(caught.value)


def test_an_error_body_too_deeply_nested_to_read_still_gives_the_typed_error(api: Api) -> None:
    api.reply(api.error(500, b"[" * 100_000 + b"]" * 100_000))
    with pytest.raises(ServerError) as caught:  # json raised a bare RecursionError
        api.create(1, "x")
    assert caught.value.may_have_been_created is True
    assert "500 Internal Server Error: the reply is not JSON" in str(caught.value)


def test_non_standard_status_has_a_readable_headline(api: Api) -> None:
    api.reply(api.error(520, ""))
    with pytest.raises(ServerError) as caught:
        api.create(1, "x")
    assert str(caught.value).startswith("520 (non-standard status): the reply has no body (")


def test_redirect_points_at_the_workspace_url(api: Api) -> None:
    api.reply(api.error(301, None, {"Location": "https://new.spp.co/api/clients/1/activities"}))
    with pytest.raises(APIStatusError, match=r"redirected to https://new\.spp\.co"):
        api.create(1, "x")


def test_missing_api_version_header_is_none(api: Api) -> None:
    api.reply(httpx.Response(404, json={"message": "Client not found."}))
    with pytest.raises(NotFoundError) as caught:
        api.create(1, "x")
    assert caught.value.api_version is None
    assert "X-Api-Version" not in str(caught.value)


# --- 2xx replies that break the contract --------------------------------------

A = {
    "id": 7,
    "content": "x",
    "created_at": "2025-12-19T10:00:00.000000Z",
    "updated_at": "2025-12-19T10:00:00.000000Z",
    "author": {"id": 456},
}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in A.items() if k != key}


BROKEN_BODIES = [
    (b"<html>created!</html>", "not JSON"),
    (b"", "not JSON"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # json raises RecursionError
    (json.dumps([A]).encode(), "the body must be an object, got an array"),
    (b"null", "the body must be an object, got null"),
    *[(json.dumps(without(key)).encode(), f"'{key}' is missing") for key in A],
    (json.dumps({**A, "id": "7"}).encode(), "'id' must be an integer, got a string"),
    (json.dumps({**A, "id": True}).encode(), "'id' must be an integer, got a boolean"),
    (json.dumps({**A, "id": 7.5}).encode(), "'id' must be an integer, got a number"),
    (json.dumps({**A, "id": None}).encode(), "'id' must be an integer, got null"),
    (json.dumps({**A, "content": 5}).encode(), "'content' must be a string, got an integer"),
    (json.dumps({**A, "created_at": "yesterday"}).encode(), "'created_at' must be an RFC 3339"),
    (json.dumps({**A, "created_at": 1734602400}).encode(), "'created_at' must be a string"),
    # RFC 3339 allows a leap second; Python's datetime does not: from_dict fails on it.
    (
        json.dumps({**A, "created_at": "2016-12-31T23:59:60Z"}).encode(),
        "'created_at' cannot be read: ValueError",
    ),
    (
        json.dumps({**A, "updated_at": "2025-12-19T10:00:00"}).encode(),
        "'updated_at' must be an RFC 3339 date-time with a time zone",
    ),
    (json.dumps({**A, "author": [["id", 1]]}).encode(), "'author' must be an object"),
    (json.dumps({**A, "author": "John"}).encode(), "'author' must be an object, got a string"),
    (json.dumps({**A, "author": {"id": "456"}}).encode(), "'author.id' must be an integer"),
    (json.dumps({**A, "author": {"email": None}}).encode(), "'author.email' must be a string"),
]


@pytest.mark.parametrize(("body", "problem"), BROKEN_BODIES)
def test_201_that_breaks_the_contract_raises_invalid_response(
    api: Api, body: bytes, problem: str
) -> None:
    api.reply(httpx.Response(201, content=body, headers={"X-Api-Version": "2024-03-05"}))
    with pytest.raises(InvalidResponseError) as caught:
        api.create(1, "x")  # retries on: a broken 201 is still never re-sent

    error = caught.value
    assert problem in str(error)
    assert str(error).startswith("201 Created, but the reply")
    assert error.may_have_been_created is True
    assert error.response.status_code == 201
    assert error.api_version == "2024-03-05"
    assert "may have been created" in str(error)
    assert len(api.requests) == 1
    # no JSON or KeyError traceback chained to it
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize("status", [200, 202, 204])
@pytest.mark.parametrize("empty", [False, True])
def test_other_2xx_breaks_the_contract(api: Api, status: int, empty: bool) -> None:
    api.reply(api.error(status) if empty else api.created(status=status))
    with pytest.raises(InvalidResponseError, match="promises 201 Created") as caught:
        api.create(1, "x")
    assert caught.value.may_have_been_created is True
    assert len(api.requests) == 1
