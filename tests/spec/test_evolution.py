"""Spec evolution: after an additive edit to openapi.yaml and `make generate`, the package
imports, reads replies carrying the new property (typed), stays a tolerant reader (a newer
enum value passes) and a strict one on types, and sends a new request property - with no
overlay edit.

Each kind of edit is made in its own temporary copy of the project (sharing this checkout's
.venv and node_modules); the copies are generated in parallel (generation is mostly
subprocesses), and each is probed in a fresh interpreter importing the copy's packages, so
the copy's sandbox judges requests by the copy's edited openapi.yaml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from project_copy import ACTIVITY_ANCHOR, CREATE_ANCHOR, MAKE_IN_COPY, copy_project


@dataclass(frozen=True)
class Kind:
    """A new optional property named ``extra`` on Activity, and what reading it must give."""

    name: str
    schema: str  # YAML, indented under the property name
    value: object  # JSON in the reply
    typed: str  # a Python expression over `value` (the parsed attribute) that must hold
    wrong: object  # a value of the wrong JSON type
    new_enum_value: object = None  # a value a newer API may send (for enums)
    extra_checks: list[str] = field(default_factory=list)


KINDS = [
    Kind("string", "type: string", "hello", "value == 'hello'", 5),
    Kind("integer", "type: integer", 3, "value == 3 and type(value) is int", "3"),
    Kind("number", "type: number", 2.5, "value == 2.5", "2.5"),
    Kind("boolean", "type: boolean", True, "value is True", "yes"),
    Kind(
        "string enum",
        "type: string\nenum: [call, email]",
        "call",
        "value == 'call'",
        5,
        new_enum_value="video",
    ),
    Kind(
        "integer enum",
        "type: integer\nenum: [1, 2, 3]",
        2,
        "value == 2",
        "2",
        new_enum_value=9,
    ),
    Kind(
        "date",
        "type: string\nformat: date",
        "2025-12-19",
        "value == datetime.date(2025, 12, 19)",
        20251219,
    ),
    Kind(
        "date-time",
        "type: string\nformat: date-time",
        "2025-12-19T10:00:00Z",
        "value == datetime.datetime(2025, 12, 19, 10, tzinfo=datetime.UTC)",
        5,
    ),
    Kind(
        "uuid",
        "type: string\nformat: uuid",
        "6f1c1a52-5c1d-4b7e-9a3f-2f0b0c9d8e7a",
        "value == uuid.UUID('6f1c1a52-5c1d-4b7e-9a3f-2f0b0c9d8e7a')",
        5,
    ),
    Kind(
        "oneOf string or integer",
        "oneOf:\n  - type: string\n  - type: integer",
        7,
        "value == 7",
        [7],
        extra_checks=["parse('seven').extra == 'seven'"],
    ),
    Kind(
        "anyOf object or boolean",
        "anyOf:\n  - type: object\n    properties:\n      level:\n        type: integer\n"
        "  - type: boolean",
        {"level": 2},
        "value.level == 2",
        "high",
        extra_checks=["parse(False).extra is False"],
    ),
    Kind(
        "nullable string",
        "type: [string, 'null']",
        None,
        "value is None",
        5,
        extra_checks=["parse('x').extra == 'x'"],
    ),
    Kind(
        "object holding an enum",
        "type: object\nproperties:\n  channel:\n    type: string\n    enum: [phone, mail]",
        {"channel": "phone"},
        "value.channel == 'phone' and type(value).__module__.startswith('spp_api.models')",
        "phone",
        new_enum_value={"channel": "carrier pigeon"},
    ),
    Kind(
        "array of objects",
        "type: array\nitems:\n  type: object\n  required: [n]\n  properties:\n"
        "    n:\n      type: integer",
        [{"n": 1}, {"n": 2}],
        "[item.n for item in value] == [1, 2]",
        [{"n": "one"}],
    ),
    Kind(
        "map of integers",
        "type: object\nadditionalProperties:\n  type: integer",
        {"a": 1, "b": 2},
        "value.additional_properties == {'a': 1, 'b': 2}",
        {"a": "one"},
    ),
    Kind(
        "array holding an enum",
        "type: array\nitems:\n  type: string\n  enum: [low, high]",
        ["low", "high"],
        "value == ['low', 'high']",
        "low",
        new_enum_value=["low", "urgent"],
    ),
    Kind(
        "reference to a new schema",
        '$ref: "#/components/schemas/Author"',
        {"id": 9, "name": "Ann"},
        "value.name == 'Ann' and type(value).__name__ == 'Author'",
        {"id": "nine"},
    ),
]

#: A new optional request property on ActivityCreate, sent through client.activities.create.
REQUEST_PROPERTY = "        pinned:\n          type: boolean\n          description: Pin it.\n"


def _indent(yaml_text: str, spaces: int) -> str:
    return textwrap.indent(yaml_text, " " * spaces)


def _edit(spec: str, kind: Kind | None) -> str:
    assert ACTIVITY_ANCHOR in spec
    assert CREATE_ANCHOR in spec
    if kind is None:  # the request property
        before = CREATE_ANCHOR.removesuffix("    Activity:\n")
        return spec.replace(CREATE_ANCHOR, before + REQUEST_PROPERTY + "    Activity:\n", 1)
    new = "        extra:\n" + _indent(kind.schema + "\ndescription: New.", 10) + "\n"
    return spec.replace(ACTIVITY_ANCHOR, ACTIVITY_ANCHOR + new, 1)


def _copy_project(where: Path, kind: Kind | None) -> Path:
    copy_project(where)
    spec = where / "openapi.yaml"
    spec.write_text(_edit(spec.read_text(encoding="utf-8"), kind), encoding="utf-8")
    result = subprocess.run(
        [*MAKE_IN_COPY, "generate"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return where


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("evolution")
    jobs: dict[str, Kind | None] = {kind.name: kind for kind in KINDS}
    jobs["request property"] = None
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(_copy_project, base / name.replace(" ", "-"), kind)
            for name, kind in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def _probe(project: Path, script: str, *args: str) -> str:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(project / "overlays"), str(project / "generated")]),
    )
    run = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script), str(project), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


PRELUDE = textwrap.dedent(
    """
    import datetime, json, sys, uuid
    import httpx
    import spp_activities, spp_api
    from spp_activities import InvalidResponseError
    from spp_activities.replies import parse_activity
    for module in (spp_activities, spp_api):  # the copy's packages, not the checkout's
        assert module.__file__.startswith(sys.argv[1]), module.__file__
    BODY = {
        "id": 7, "content": "Met on site.",
        "created_at": "2025-12-19T10:00:00.000000Z",
        "updated_at": "2025-12-19T10:00:00.000000Z",
        "author": {"id": 456, "name": "John Doe", "email": "john@example.com"},
    }
    def parse(value, **more):
        return parse_activity(httpx.Response(201, json={**BODY, "extra": value, **more}))
    def old_fields_hold(activity):
        assert activity.id == 7 and activity.content == "Met on site."
        assert activity.created_at.year == 2025 and activity.author.email == "john@example.com"
    """
)

RESPONSE_PROBE = """
    value_json, wrong_json, new_json, typed, extra_checks = (json.loads(a) for a in sys.argv[2:7])
    activity = parse(value_json)
    value = activity.extra
    assert eval(typed), (typed, value)
    assert activity.additional_properties == {}
    old_fields_hold(activity)
    for check in extra_checks:
        assert eval(check), check
    # Absent (optional): the old reply still parses.
    old_fields_hold(parse_activity(httpx.Response(201, json=BODY)))
    # An unknown property of a newer API lands in additional_properties.
    assert parse(value_json, mood="calm")["mood"] == "calm"
    # A value of the wrong JSON type breaks the contract, naming the field.
    try:
        parse(wrong_json)
    except InvalidResponseError as error:
        assert "'extra" in str(error), str(error)
    else:
        raise AssertionError("a wrong type was accepted")
    if new_json is not None:  # a newer API's enum value is kept as it is
        assert parse(new_json).to_dict()["extra"] == new_json
    print("response ok")
"""

SANDBOX_PROBE = """
    from spp_activities import InvalidInputError, SPPClient
    from spp_activities.sandbox import Sandbox
    from spp_activities.sandbox.contract import ContractValidator
    from spp_api.models import ActivityCreate

    judged = []  # what the sandbox's judge was given, and its verdict
    check_create = ContractValidator.check_create
    def recording(self, **request):
        verdict = check_create(self, **request)
        judged.append((json.loads(request["body"]), verdict))
        return verdict
    ContractValidator.check_create = recording

    with Sandbox() as sandbox, SPPClient(sandbox.workspace_url, sandbox.token) as client:
        old_fields = client.activities.create(1, "Plain text still works.")
        assert old_fields.content == "Plain text still works."
        assert judged == [({"content": "Plain text still works."}, None)]
        if sys.argv[2] == "request":
            body = ActivityCreate(content="Pinned note.", pinned=True)
            assert client.activities.create(1, body).content == "Pinned note."
            assert judged[-1] == ({"content": "Pinned note.", "pinned": True}, None)
            for bad, problem in [
                (ActivityCreate(content="x", pinned="yes"), "pinned must be a boolean"),
                (ActivityCreate.from_dict({"content": "x", "pinnned": True}), "'pinnned'"),
            ]:
                try:
                    client.activities.create(1, bad)
                except InvalidInputError as error:
                    assert problem in str(error) and "nothing was sent" in str(error), error
                else:
                    raise AssertionError(f"sent {bad}")
            assert len(judged) == 2
    print("sandbox ok")
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_a_new_optional_response_property_is_read_typed_and_tolerantly(
    projects: dict[str, Path], kind: Kind
) -> None:
    project = projects[kind.name]
    args = [kind.value, kind.wrong, kind.new_enum_value, kind.typed, kind.extra_checks]
    assert "response ok" in _probe(project, RESPONSE_PROBE, *(json.dumps(a) for a in args))
    assert "sandbox ok" in _probe(project, SANDBOX_PROBE, "response")


@pytest.mark.slow
def test_a_new_optional_request_property_reaches_the_sandbox(projects: dict[str, Path]) -> None:
    assert "sandbox ok" in _probe(projects["request property"], SANDBOX_PROBE, "request")


def test_the_kinds_cover_every_json_type_and_the_common_constructs() -> None:
    assert len(KINDS) >= 12
    schemas = "\n".join(kind.schema for kind in KINDS) + "\n"
    constructs = ["string", "integer", "number", "boolean", "null", "object", "array", "enum"]
    constructs += ["format: date\n", "date-time", "uuid", "oneOf", "anyOf", "additionalProperties"]
    constructs += ["$ref"]
    for construct in constructs:
        assert construct in schemas, construct
