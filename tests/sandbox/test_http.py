"""The sandbox over real HTTP with a plain httpx client: what SPP's contract promises.

Success, 401, 404 and Laravel-style 400s, the X-Api-Version echo, the body limit, the
/_sandbox inspection routes and data that survives a restart.
"""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from spp_activities import BadRequestError, SPPClient
from spp_activities.sandbox import MAX_BODY_BYTES, Sandbox, SandboxOptionError

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
CALL = "Client called to discuss project requirements."


def post(
    sandbox: Sandbox,
    user: object = 1,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = "default",
) -> httpx.Response:
    sent = (
        {}
        if token is None
        else {"Authorization": f"Bearer {sandbox.token if token == 'default' else token}"}
    )
    sent.update(headers or {})
    return httpx.post(
        f"{sandbox.api_url}/clients/{user}/activities",
        json=json,
        content=content,
        headers=sent,
        timeout=10,
    )


def assert_bad_request(response: httpx.Response, message: str, reason: str | None = None) -> None:
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": message, "errors": {"content": [reason or message]}}


# ---------------------------------------------------------------- success


def test_create_returns_201_with_the_activity_by_the_tokens_user(sandbox: Sandbox) -> None:
    before = datetime.now(UTC)
    response = post(sandbox, 7, json={"content": CALL})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"id", "content", "created_at", "updated_at", "author"}
    assert body["content"] == CALL
    assert isinstance(body["id"], int)
    assert body["author"] == {"id": 1, "name": "Sandbox User", "email": "sandbox@example.com"}
    assert TIMESTAMP.match(body["created_at"])
    assert body["updated_at"] == body["created_at"]
    created = datetime.strptime(body["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC) + timedelta(seconds=1)


def test_ids_increase_and_each_activity_is_stored_for_its_client(sandbox: Sandbox) -> None:
    first = post(sandbox, 3, json={"content": "one"}).json()
    second = post(sandbox, 4, json={"content": "two"}).json()
    assert second["id"] > first["id"]
    stored = sandbox.activities()
    assert [(a["id"], a["client_id"], a["content"]) for a in stored] == [
        (first["id"], 3, "one"),
        (second["id"], 4, "two"),
    ]
    assert [a["content"] for a in sandbox.activities(client_id=4)] == ["two"]


def test_content_is_stored_exactly_as_sent(sandbox: Sandbox) -> None:
    content = "  Ünïcødé ✓ — line one\nline two\ttab  "
    body = post(sandbox, json={"content": content}).json()
    assert body["content"] == content
    assert sandbox.activities()[0]["content"] == content


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json;;",  # empty parameters are allowed by RFC 9110
        # malformed parameters: openapi-core raised ValueError (a 500) on these
        "application/json; charset",
        "application/json; boundary=a=b",
    ],
)
def test_json_content_types_with_parameters_are_accepted(
    sandbox: Sandbox, content_type: str
) -> None:
    response = post(sandbox, content=b'{"content": "ok"}', headers={"Content-Type": content_type})
    assert response.status_code == 201


def test_unknown_body_fields_are_ignored(sandbox: Sandbox) -> None:
    response = post(sandbox, json={"content": "ok", "extra": 1})
    assert response.status_code == 201
    assert "extra" not in response.json()


def test_x_api_version_is_echoed_or_defaulted_on_every_reply(sandbox: Sandbox) -> None:
    assert post(sandbox, json={"content": "x"}).headers["x-api-version"] == "2024-03-05"
    pinned = {"X-Api-Version": "2023-01-01"}
    assert (
        post(sandbox, json={"content": "x"}, headers=pinned).headers["x-api-version"]
        == "2023-01-01"
    )
    for response in (
        post(sandbox, json={"content": "x"}, token=None, headers=pinned),
        post(sandbox, 999999, json={"content": "x"}, headers=pinned),
        post(sandbox, json={}, headers=pinned),
        httpx.get(f"{sandbox.url}/_sandbox/stats", headers=pinned),
    ):
        assert response.headers["x-api-version"] == "2023-01-01"
    stored = sandbox.activities()
    assert [a["api_version"] for a in stored] == ["2024-03-05", "2023-01-01"]


def test_with_two_x_api_versions_the_echoed_one_is_the_stored_one(sandbox: Sandbox) -> None:
    response = httpx.post(
        f"{sandbox.api_url}/clients/1/activities",
        json={"content": "x"},
        headers=[
            ("Authorization", f"Bearer {sandbox.token}"),
            ("X-Api-Version", "2023-01-01"),
            ("X-Api-Version", "2099-12-31"),
        ],
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["x-api-version"] == "2023-01-01"
    assert sandbox.activities()[0]["api_version"] == "2023-01-01"


def test_each_token_authors_as_its_own_user(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(tokens=["first-token", "second-token"])
    assert sandbox.token == "first-token"
    author = post(sandbox, json={"content": "x"}, token="second-token").json()["author"]
    assert author == {"id": 2, "name": "Sandbox User 2", "email": "sandbox2@example.com"}
    assert post(sandbox, json={"content": "x"}, token="sandbox-token").status_code == 401


# ---------------------------------------------------------------- 401


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Bearer", "Basic c2FuZGJveC10b2tlbg==", "sandbox-token"],
    ids=["missing", "wrong", "empty", "basic", "no-scheme"],
)
def test_missing_or_wrong_credentials_are_401(sandbox: Sandbox, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = post(sandbox, json={"content": CALL}, token=None, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert sandbox.activities() == []


def test_authentication_comes_before_client_and_body_checks(sandbox: Sandbox) -> None:
    response = post(sandbox, "abc", content=b"{oops", token="wrong")
    assert response.status_code == 401


def test_the_bearer_scheme_is_case_insensitive(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"bearer {sandbox.token}"}
    assert post(sandbox, json={"content": "x"}, token=None, headers=headers).status_code == 201


# ---------------------------------------------------------------- 404


@pytest.mark.parametrize(
    # " 1", "+1" and a full-width 1 (U+FF11) are 1 to int(), but not client IDs in a URL
    "user",
    [999999, 101, "0", "-1", "abc", "1.5", "9" * 5000, " 1", "+1", "\uff11"],
)
def test_unknown_or_impossible_clients_are_404(sandbox: Sandbox, user: object) -> None:
    response = post(sandbox, user, json={"content": CALL})
    assert response.status_code == 404
    assert response.json() == {"message": "Client not found."}
    assert sandbox.activities() == []


def test_the_client_is_checked_before_the_body(sandbox: Sandbox) -> None:
    assert post(sandbox, 999999, json={"content": " "}).status_code == 404


def test_which_clients_exist_is_configurable(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(clients=[5, 500])
    assert post(sandbox, 500, json={"content": "x"}).status_code == 201
    assert post(sandbox, 5, json={"content": "x"}).status_code == 201
    assert post(sandbox, 1, json={"content": "x"}).status_code == 404


def test_unrouted_paths_and_methods_answer_json(sandbox: Sandbox) -> None:
    missing = httpx.get(f"{sandbox.url}/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found."}
    wrong_method = httpx.get(f"{sandbox.api_url}/clients/1/activities")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert "message" in wrong_method.json()


# ---------------------------------------------------------------- 400


@pytest.mark.parametrize(
    "payload",
    [{"content": ""}, {"content": "   \n\t "}, {}, {"text": "x"}, {"content": None}, [], "x", 5],
    ids=["empty", "blank", "missing", "other-field", "null", "array", "string", "number"],
)
def test_missing_or_blank_content_is_400(sandbox: Sandbox, payload: Any) -> None:
    assert_bad_request(post(sandbox, json=payload), "The content field is required.")
    assert sandbox.activities() == []


@pytest.mark.parametrize("content", [5, True, ["x"], {"text": "x"}])
def test_content_of_the_wrong_type_is_400(sandbox: Sandbox, content: Any) -> None:
    assert_bad_request(
        post(sandbox, json={"content": content}), "The content field must be a string."
    )


def test_a_missing_body_is_400(sandbox: Sandbox) -> None:
    response = post(sandbox, content=b"", headers={"Content-Type": "application/json"})
    assert_bad_request(response, "The content field is required.")


@pytest.mark.parametrize(
    "raw",
    [
        b"{oops",
        b'{"content": "x"',
        b"\xff\xfe\x00",
        b"null x",
        # Python's json reads these; they are not JSON
        b'{"content": "x", "n": NaN}',
        b'{"content": "x", "n": -Infinity}',
        # too deep for Python's json: a RecursionError, which was a 500
        b'{"content": "x", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["broken", "unclosed", "not-utf8", "trailing", "nan", "infinity", "deep"],
)
def test_malformed_json_is_400(sandbox: Sandbox, raw: bytes) -> None:
    response = post(sandbox, content=raw, headers={"Content-Type": "application/json"})
    assert_bad_request(
        response, "The request body is not valid JSON.", "The content field is required."
    )


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_declared_json_is_400(
    sandbox: Sandbox, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = post(sandbox, content=b'{"content": "x"}', headers=headers)
    assert_bad_request(
        response,
        "The request body must be JSON sent with Content-Type: application/json.",
        "The content field is required.",
    )
    assert sandbox.activities() == []


def test_a_lone_surrogate_is_400_not_a_crash(sandbox: Sandbox) -> None:
    response = post(
        sandbox, content=b'{"content": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert_bad_request(response, "The content field must be valid UTF-8 text.")


def test_a_body_over_the_limit_is_refused_with_a_clear_400(sandbox: Sandbox) -> None:
    big = {"content": "x" * MAX_BODY_BYTES}
    response = post(sandbox, json=big)
    assert_bad_request(
        response, f"The request body is larger than the sandbox accepts ({MAX_BODY_BYTES} bytes)."
    )
    assert sandbox.activities() == []
    # The connection pool recovers: the next request is served normally.
    assert post(sandbox, json={"content": "after"}).status_code == 201


def test_a_chunked_body_over_the_limit_is_refused_too(sandbox: Sandbox) -> None:
    def chunks() -> Any:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    response = post(sandbox, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "larger than the sandbox accepts" in response.json()["message"]


def test_a_body_far_over_the_limit_still_gets_the_400_not_a_dropped_connection(
    sandbox: Sandbox,
) -> None:
    # A dropped connection would leave the client unsure whether the activity was created;
    # the 400 says for certain that it was not.
    with (
        SPPClient(sandbox.workspace_url, sandbox.token, max_retries=0) as client,
        pytest.raises(BadRequestError) as caught,
    ):
        client.activities.create(1, "x" * (20 * MAX_BODY_BYTES))
    assert caught.value.may_have_been_created is False
    assert "larger than the sandbox accepts" in str(caught.value)
    assert sandbox.stats()["by_status"] == {"400": 1}
    assert sandbox.activities() == []


def test_a_request_whose_client_leaves_mid_body_stores_nothing(sandbox: Sandbox) -> None:
    # The JSON is complete, but the declared body is longer: the request never finished.
    body = b'{"content": "half a request"}'
    head = (
        "POST /api/clients/1/activities HTTP/1.1\r\nHost: sandbox\r\n"
        f"Authorization: Bearer {sandbox.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) + 10}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as conn:
        conn.sendall(head + body)
    deadline = time.monotonic() + 10
    while sandbox.stats()["requests"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.stats()["by_status"] == {"dropped": 1}
    assert sandbox.activities() == []


# ---------------------------------------------------------------- /_sandbox and storage


def test_sandbox_routes_list_filter_count_and_reset(sandbox: Sandbox) -> None:
    post(sandbox, 1, json={"content": "a"})
    post(sandbox, 2, json={"content": "b"})
    post(sandbox, 999999, json={"content": "c"})
    listed = httpx.get(f"{sandbox.url}/_sandbox/activities").json()["activities"]
    assert [(a["client_id"], a["content"]) for a in listed] == [(1, "a"), (2, "b")]
    assert set(listed[0]) >= {"id", "client_id", "content", "created_at", "updated_at", "author"}
    only_two = httpx.get(f"{sandbox.url}/_sandbox/activities", params={"client_id": 2}).json()
    assert [a["content"] for a in only_two["activities"]] == ["b"]
    assert httpx.get(f"{sandbox.url}/_sandbox/activities?client_id=x").status_code == 400
    stats = httpx.get(f"{sandbox.url}/_sandbox/stats").json()
    assert stats == {
        "requests": 3,
        "created": 2,
        "faults_injected": 0,
        "rate_limited": 0,
        "dropped": 0,
        "by_status": {"201": 2, "404": 1},
        "by_fault": {},
        "activities": 2,
    }
    assert httpx.post(f"{sandbox.url}/_sandbox/reset").status_code == 200
    assert sandbox.activities() == []
    assert sandbox.stats() == {
        "requests": 0,
        "created": 0,
        "faults_injected": 0,
        "rate_limited": 0,
        "dropped": 0,
        "by_status": {},
        "by_fault": {},
        "activities": 0,
    }
    assert post(sandbox, json={"content": "fresh"}).json()["id"] == 1


def test_listing_a_client_id_beyond_sqlites_range_is_empty_not_a_500(sandbox: Sandbox) -> None:
    huge = 10**20
    response = httpx.get(f"{sandbox.url}/_sandbox/activities", params={"client_id": huge})
    assert (response.status_code, response.json()) == (200, {"activities": []})
    assert sandbox.activities(client_id=huge) == []


def test_data_survives_a_restart_on_the_same_db(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    with Sandbox(db=db) as first:
        created = post(first, 9, json={"content": "kept"}).json()
    with Sandbox(db=db) as second:
        assert [(a["id"], a["content"]) for a in second.activities(client_id=9)] == [
            (created["id"], "kept")
        ]
        assert post(second, 9, json={"content": "next"}).json()["id"] == created["id"] + 1


def test_a_database_path_that_cannot_be_used_is_a_clear_option_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("not a database " * 100)
    for db, problem in [
        (tmp_path / "missing-dir" / "x.db", "cannot open"),
        (tmp_path, "cannot open"),
        (not_a_db, "cannot hold the sandbox's activities"),
    ]:
        with pytest.raises(SandboxOptionError, match=problem):
            Sandbox(db=db).start()


def test_the_database_file_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "wal.db"
    with Sandbox(db=db):
        pass
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
