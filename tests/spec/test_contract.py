"""openapi.yaml carries everything on the vendor's page, and its examples hold.

The page is transcribed into vendor_page.yaml beside this file; these tests
compare the two element by element, so a field dropped from the spec, a changed
type, a lost example or a missing status fails here.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
PAGE: dict[str, Any] = yaml.safe_load((Path(__file__).with_name("vendor_page.yaml")).read_text())
OPERATION = PAGE["operation"]


def resolve(node: Any) -> Any:
    """Follow a local `$ref` (possibly several in a row) to what it names."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operation() -> dict[str, Any]:
    return resolve(SPEC["paths"][OPERATION["path"]][OPERATION["method"]])


def example_of(node: dict[str, Any]) -> Any:
    """A schema's first `examples` entry, or a parameter's `example`."""
    if "example" in node:
        return node["example"]
    assert node.get("examples"), f"no example on {node}"
    return node["examples"][0]


def assert_type(schema: dict[str, Any], page_type: str) -> None:
    schema = resolve(schema)
    if page_type == "date-time":
        assert (schema["type"], schema["format"]) == ("string", "date-time")
    elif page_type == "string|null":
        assert sorted(schema["type"]) == ["null", "string"]
    elif page_type == "integer|allOf":
        (member,) = schema["allOf"]
        assert resolve(member)["type"] == "integer"
    else:
        assert schema["type"] == page_type


def test_openapi_version_is_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")


def test_server_and_its_variable() -> None:
    (server,) = SPEC["servers"]
    assert server["url"] == OPERATION["server"]
    assert OPERATION["server_variable"] in server["variables"]


def test_operation_identity() -> None:
    op = operation()
    assert op["operationId"] == "createClientActivity"
    assert op["summary"] == OPERATION["summary"]
    assert op["description"] == OPERATION["description"]
    assert op["tags"] == ["client-activities"]
    (tag,) = SPEC["tags"]
    assert tag["name"] == "client-activities"
    assert tag["description"].startswith(OPERATION["tag"])


def test_bearer_security_applies_to_the_operation() -> None:
    (requirement,) = operation()["security"]
    (name,) = requirement
    scheme = SPEC["components"]["securitySchemes"][name]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize("param", PAGE["path_parameters"], ids=lambda p: p["name"])
def test_path_parameter(param: dict[str, Any]) -> None:
    params = [resolve(p) for p in operation()["parameters"]]
    (spec_param,) = [p for p in params if p["in"] == "path" and p["name"] == param["name"]]
    assert spec_param["required"] is param["required"]
    assert spec_param["description"] == param["description"]
    assert example_of(spec_param) == param["example"]
    assert_type(spec_param["schema"], param["type"])
    client_id = resolve(spec_param["schema"]["allOf"][0])
    assert client_id["minimum"] == 1
    assert SPEC["components"]["schemas"]["ClientId"] is client_id


@pytest.mark.parametrize("header", PAGE["headers"], ids=lambda h: h["name"])
def test_request_header(header: dict[str, Any]) -> None:
    params = [resolve(p) for p in operation()["parameters"]]
    (spec_header,) = [p for p in params if p["in"] == "header" and p["name"] == header["name"]]
    assert spec_header.get("required", False) is False
    assert spec_header["description"] == header["description"]
    assert example_of(spec_header) == header["example"]
    assert_type(spec_header["schema"], header["type"])


@pytest.mark.parametrize("status", sorted(PAGE["responses"]))
def test_every_response_documents_the_version_header(status: str) -> None:
    response = resolve(operation()["responses"][status])
    (header,) = [resolve(h) for name, h in response["headers"].items() if name == "X-Api-Version"]
    assert header["description"] == PAGE["headers"][0]["description"]
    assert example_of(header) == PAGE["headers"][0]["example"]


def test_statuses_are_exactly_the_pages() -> None:
    assert sorted(operation()["responses"]) == sorted(PAGE["responses"])


@pytest.mark.parametrize("status", sorted(PAGE["responses"]))
def test_response_description_and_example(status: str) -> None:
    response = resolve(operation()["responses"][status])
    page = PAGE["responses"][status]
    assert response["description"] == page["description"]
    media = response["content"]["application/json"]
    expected_schema = page.get("schema", "Error")
    assert media["schema"] == {"$ref": f"#/components/schemas/{expected_schema}"}
    assert media["examples"], f"{status} has no named example"


@pytest.mark.parametrize(
    ("schema_name", "field"),
    [(name, field) for name, fields in PAGE["schemas"].items() for field in fields],
)
def test_schema_field(schema_name: str, field: str) -> None:
    page_field = PAGE["schemas"][schema_name][field]
    schema = SPEC["components"]["schemas"][schema_name]
    prop = schema["properties"][field]
    assert (field in schema.get("required", [])) is page_field["required"]
    assert_type(prop, page_field["type"])
    assert resolve(prop)["description"] == page_field["description"]
    if "example" in page_field:
        assert example_of(prop) == page_field["example"]


@pytest.mark.parametrize("schema_name", sorted(PAGE["schemas"]))
def test_schema_has_no_fields_the_page_lacks(schema_name: str) -> None:
    assert set(SPEC["components"]["schemas"][schema_name]["properties"]) == set(
        PAGE["schemas"][schema_name]
    )


def test_request_body_is_required_non_blank_content() -> None:
    body = operation()["requestBody"]
    assert body["required"] is True
    schema = resolve(body["content"]["application/json"]["schema"])
    assert schema["required"] == ["content"]
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"content": "Called the client."})
    for bad in ({}, {"content": ""}, {"content": "  \n\t"}, {"content": 5}):
        assert not validator.is_valid(bad), bad


# Whitespace by Python's or by JavaScript's definition (they differ on some).
BLANKS = [" ", "\t\n", "\ufeff", "\x1c\x1d\x1e\x1f", "\x85", "\u00a0\u2028\u3000"]


def content_pattern() -> str:
    schema = resolve(operation()["requestBody"]["content"]["application/json"]["schema"])
    pattern: str = schema["properties"]["content"]["pattern"]
    return pattern


def test_blank_content_is_blank_to_python_and_javascript_alike() -> None:
    """The sandbox (Python) and Prism/Spectral (JavaScript) read the pattern alike."""
    import json
    import re
    import subprocess

    pattern = content_pattern()
    samples = [*BLANKS, "a", " x ", "\U0001f600", "ü"]
    python = [re.search(pattern, text) is not None for text in samples]
    script = (
        "const [p, s] = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(s.map((t) => new RegExp(p, 'u').test(t))));"
    )
    node = subprocess.run(
        ["node", "-e", script, json.dumps([pattern, samples])],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(node.stdout) == python
    assert python == [False] * len(BLANKS) + [True] * 4


def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for a component schema, with the spec's refs resolvable."""
    root = {"components": SPEC["components"], "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_page_example_response_is_the_spec_example_and_validates() -> None:
    spec_example = operation()["responses"]["201"]["content"]["application/json"]["examples"]
    assert spec_example["created"]["value"] == PAGE["example_response"]
    schema_validator("Activity").validate(PAGE["example_response"])


def test_every_error_example_validates_against_error() -> None:
    validator = schema_validator("Error")
    for status in ("400", "401", "404"):
        response = resolve(operation()["responses"][status])
        for example in response["content"]["application/json"]["examples"].values():
            validator.validate(example["value"])


def test_pagination_links_example_validates() -> None:
    links = {
        f: PAGE["schemas"]["PaginationLinks"][f]["example"]
        for f in ("first", "last", "prev", "next")
    }
    schema_validator("PaginationLinks").validate(links)


def test_page_example_parses_through_the_generated_model() -> None:
    from spp_api.models import Activity, Author

    activity = Activity.from_dict(PAGE["example_response"])
    assert activity.id == 1
    assert activity.content == PAGE["example_response"]["content"]
    assert isinstance(activity.author, Author)
    assert (activity.author.id, activity.author.name, activity.author.email) == (
        456,
        "John Doe",
        "john@example.com",
    )
    for stamp in (activity.created_at, activity.updated_at):
        assert stamp == datetime.datetime(2025, 12, 19, 10, 0, tzinfo=datetime.UTC)
        assert stamp.utcoffset() == datetime.timedelta(0)

    # to_dict gives the same values back (timestamps compared as instants).
    again = activity.to_dict()
    for key, value in PAGE["example_response"].items():
        if key.endswith("_at"):
            assert datetime.datetime.fromisoformat(again[key]) == datetime.datetime.fromisoformat(
                value
            )
        else:
            assert again[key] == value
    assert Activity.from_dict(again) == activity


def test_timestamps_keep_their_microseconds() -> None:
    from spp_api.models import Activity

    body = dict(PAGE["example_response"], created_at="2025-12-19T10:00:00.123456Z")
    created = Activity.from_dict(body).created_at
    assert created.tzinfo is not None
    assert created.utcoffset() == datetime.timedelta(0)
    assert created.microsecond == 123456


def test_unknown_fields_in_a_reply_are_kept() -> None:
    from spp_api.models import Activity

    body = dict(PAGE["example_response"], pinned=True)
    activity = Activity.from_dict(body)
    assert activity.additional_properties == {"pinned": True}
    assert activity["pinned"] is True
    assert activity.to_dict()["pinned"] is True
