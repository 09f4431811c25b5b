"""The openapi.yaml breaking-change gate: one test per rule, the edits named in issue 9,
the additive edits that must pass, and the one escape (major bump + changelog entry)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import spec_breaking
import yaml

ROOT = Path(__file__).resolve().parents[2]
RELEASED: dict[str, Any] = yaml.safe_load((ROOT / "tests/gates/released/openapi.yaml").read_text())
OP = "/paths/~1clients~1{user}~1activities/post"
SCHEMAS = "/components/schemas"


def op(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = spec["paths"]["/clients/{user}/activities"]["post"]
    return result


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    result: dict[str, Any] = spec["components"]["schemas"][name]
    return result


def rename_path(s: dict[str, Any]) -> None:
    s["paths"]["/clients/{user}/activity"] = s["paths"].pop("/clients/{user}/activities")


def add_required_request_property(s: dict[str, Any]) -> None:
    schema(s, "ActivityCreate")["properties"]["kind"] = {"type": "string"}
    schema(s, "ActivityCreate")["required"].append("kind")


def id_to_string(s: dict[str, Any]) -> None:
    schema(s, "Activity")["properties"]["id"]["type"] = "string"


def rename_path_parameter(s: dict[str, Any]) -> None:
    s["paths"]["/clients/{client}/activities"] = s["paths"].pop("/clients/{user}/activities")
    s["components"]["parameters"]["User"]["name"] = "client"


def ref_to(target: str) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        schema(s, "Activity")["properties"]["author"] = {"$ref": f"#/components/schemas/{target}"}

    return edit


def add_required_header(s: dict[str, Any]) -> None:
    op(s)["parameters"].append(
        {"name": "X-Tenant", "in": "header", "required": True, "schema": {"type": "string"}}
    )


def header_becomes_required(s: dict[str, Any]) -> None:
    s["components"]["parameters"]["XApiVersion"]["required"] = True


def set_enum(name: str, prop: str, values: list[str]) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        schema(s, name)["properties"].setdefault(prop, {"type": "string"})["enum"] = values

    return edit


def content(**constraints: Any) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        schema(s, "ActivityCreate")["properties"]["content"].update(constraints)

    return edit


# (edit of the released spec, expected pointer, expected rule). The first six are issue 9's.
BREAKING: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "remove Author.email",
        lambda s: schema(s, "Author")["properties"].pop("email"),
        f"{SCHEMAS}/Author/properties/email",
        "response-property-removed",
    ),
    (
        "make Activity.updated_at optional",
        lambda s: schema(s, "Activity")["required"].remove("updated_at"),
        f"{SCHEMAS}/Activity/properties/updated_at",
        "response-property-became-optional",
    ),
    ("rename the path", rename_path, "/paths/~1clients~1{user}~1activities", "api-path-removed"),
    (
        "new required request field",
        add_required_request_property,
        f"{SCHEMAS}/ActivityCreate/properties/kind",
        "new-required-request-property",
    ),
    (
        "Activity.id to string",
        id_to_string,
        f"{SCHEMAS}/Activity/properties/id/type",
        "response-property-type-changed",
    ),
    (
        "drop the 404",
        lambda s: op(s)["responses"].pop("404"),
        f"{OP}/responses/404",
        "response-status-removed",
    ),
    (
        "path parameter renamed",
        rename_path_parameter,
        f"{OP}/parameters/path/user",
        "request-path-parameter-renamed",
    ),
    (
        "Activity.id to oneOf string or integer",
        lambda s: schema(s, "Activity")["properties"].update(
            id={"oneOf": [{"type": "string"}, {"type": "integer"}]}
        ),
        f"{SCHEMAS}/Activity/properties/id/type",
        "response-property-type-changed",
    ),
    (
        "Activity.id to anyOf through a $ref",
        lambda s: schema(s, "Activity")["properties"].update(
            id={"anyOf": [{"$ref": "#/components/schemas/ClientId"}, {"type": "boolean"}]}
        ),
        f"{SCHEMAS}/Activity/properties/id/type",
        "response-property-type-changed",
    ),
    (
        "Activity.author refers to another schema",
        ref_to("PaginationLinks"),
        f"{SCHEMAS}/Activity/properties/author",
        "response-property-ref-changed",
    ),
    (
        "content to anyOf integer",
        content(anyOf=[{"type": "integer"}]),
        f"{SCHEMAS}/ActivityCreate/properties/content/type",
        "request-property-type-changed",
    ),
    (
        "content to oneOf integer",
        lambda s: schema(s, "ActivityCreate")["properties"].update(
            content={"oneOf": [{"type": "integer"}]}
        ),
        f"{SCHEMAS}/ActivityCreate/properties/content/type",
        "request-property-type-changed",
    ),
    (
        "remove the operation",
        lambda s: s["paths"]["/clients/{user}/activities"].pop("post"),
        OP,
        "api-removed",
    ),
    (
        "rename the operationId",
        lambda s: op(s).update(operationId="addActivity"),
        f"{OP}/operationId",
        "api-operation-id-changed",
    ),
    (
        "remove the 201's header",
        lambda s: op(s)["responses"]["201"]["headers"].pop("X-Api-Version"),
        f"{OP}/responses/201/headers/X-Api-Version",
        "response-header-removed",
    ),
    (
        "reply with another media type",
        lambda s: op(s)["responses"]["201"].update(
            content={"application/xml": op(s)["responses"]["201"]["content"]["application/json"]}
        ),
        f"{OP}/responses/201/content/application~1json",
        "response-media-type-removed",
    ),
    (
        "accept another media type only",
        lambda s: op(s)["requestBody"].update(
            content={"text/plain": op(s)["requestBody"]["content"]["application/json"]}
        ),
        f"{OP}/requestBody/content/application~1json",
        "request-body-media-type-removed",
    ),
    (
        "Activity.created_at format",
        lambda s: schema(s, "Activity")["properties"]["created_at"].update(format="date"),
        f"{SCHEMAS}/Activity/properties/created_at/format",
        "response-property-format-changed",
    ),
    (
        "Author.name nullable",
        lambda s: schema(s, "Author")["properties"]["name"].update(type=["string", "null"]),
        f"{SCHEMAS}/Author/properties/name/type",
        "response-property-became-nullable",
    ),
    (
        "content to integer",
        content(type="integer"),
        f"{SCHEMAS}/ActivityCreate/properties/content/type",
        "request-property-type-changed",
    ),
    (
        "content format added",
        content(format="email"),
        f"{SCHEMAS}/ActivityCreate/properties/content/format",
        "request-property-format-changed",
    ),
    (
        "new required header",
        add_required_header,
        f"{OP}/parameters/header/X-Tenant",
        "new-required-request-parameter",
    ),
    (
        "optional header made required",
        header_becomes_required,
        f"{OP}/parameters/header/X-Api-Version",
        "request-parameter-became-required",
    ),
    (
        "header removed",
        lambda s: op(s)["parameters"].pop(1),
        f"{OP}/parameters/header/X-Api-Version",
        "request-parameter-removed",
    ),
    (
        "client id minimum raised",
        lambda s: schema(s, "ClientId").update(minimum=10),
        f"{OP}/parameters/path/user/schema/minimum",
        "request-property-minimum-increased",
    ),
    (
        "content maxLength added",
        content(maxLength=500),
        f"{SCHEMAS}/ActivityCreate/properties/content/maxLength",
        "request-property-max-length-added",
    ),
    (
        "content minLength raised",
        content(minLength=5),
        f"{SCHEMAS}/ActivityCreate/properties/content/minLength",
        "request-property-min-length-increased",
    ),
    (
        "content pattern changed",
        content(pattern="^[a-z]+$"),
        f"{SCHEMAS}/ActivityCreate/properties/content/pattern",
        "request-property-pattern-changed",
    ),
    (
        "request enum added",
        set_enum("ActivityCreate", "content", ["call"]),
        f"{SCHEMAS}/ActivityCreate/properties/content/enum",
        "request-property-enum-added",
    ),
    (
        "request property removed",
        lambda s: schema(s, "ActivityCreate")["properties"].pop("content"),
        f"{SCHEMAS}/ActivityCreate/properties/content",
        "request-property-removed",
    ),
    (
        "request closed to other properties",
        lambda s: schema(s, "ActivityCreate").update(additionalProperties=False),
        f"{SCHEMAS}/ActivityCreate/additionalProperties",
        "request-additional-properties-removed",
    ),
    (
        "security scheme changed",
        lambda s: s["components"]["securitySchemes"]["bearerAuth"].update(scheme="basic"),
        "/components/securitySchemes/bearerAuth/scheme",
        "security-scheme-changed",
    ),
    (
        "security scheme replaced",
        lambda s: s["components"]["securitySchemes"].update(
            apiKey=s["components"]["securitySchemes"].pop("bearerAuth")
        ),
        "/components/securitySchemes/bearerAuth",
        "security-scheme-removed",
    ),
    (
        "operation security changed",
        lambda s: op(s).update(security=[{"apiKey": []}]),
        f"{OP}/security",
        "api-security-changed",
    ),
]


def evolve(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    new = copy.deepcopy(RELEASED)
    edit(new)
    return new


@pytest.mark.parametrize(
    ("edit", "where", "rule"), [c[1:] for c in BREAKING], ids=[c[0] for c in BREAKING]
)
def test_each_rule_names_the_change(
    edit: Callable[[dict[str, Any]], None], where: str, rule: str
) -> None:
    changes = spec_breaking.breaking_changes(RELEASED, evolve(edit))
    assert (where, rule) in {(c.where, c.rule) for c in changes}, [c.line() for c in changes]


def test_request_enum_value_removed() -> None:
    old = evolve(set_enum("ActivityCreate", "channel", ["phone", "mail"]))
    new = evolve(set_enum("ActivityCreate", "channel", ["phone"]))
    (change,) = spec_breaking.breaking_changes(old, new)
    assert change.rule == "request-property-enum-value-removed"
    assert change.name == "ActivityCreate.channel"


def test_request_body_became_required() -> None:
    old = evolve(lambda s: op(s)["requestBody"].update(required=False))
    (change,) = spec_breaking.breaking_changes(old, RELEASED)
    assert (change.where, change.rule) == (f"{OP}/requestBody", "request-body-became-required")


def test_a_response_oneof_gaining_an_alternative_is_breaking() -> None:
    def one_of(*types: str) -> Callable[[dict[str, Any]], None]:
        return lambda s: schema(s, "Activity")["properties"].update(
            ref={"oneOf": [{"type": t} for t in types]}
        )

    changes = spec_breaking.breaking_changes(
        evolve(one_of("string", "integer")), evolve(one_of("string", "integer", "boolean"))
    )
    assert {c.rule for c in changes} == {
        "response-property-oneof-added",
        "response-property-type-changed",
    }


def test_the_types_of_composed_schemas_are_compared_by_branch() -> None:
    """Responses: new types a client cannot read break it, fewer do not. Requests: types
    no longer accepted break it, more do not."""
    string_or_int = {"oneOf": [{"type": "string"}, {"type": "integer"}]}

    def activity_id(value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        return lambda s: schema(s, "Activity")["properties"].update(id=value)

    def create_content(value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        return lambda s: schema(s, "ActivityCreate")["properties"].update(content=value)

    def rules(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
        return {c.rule for c in spec_breaking.breaking_changes(old, new)}

    # response: integer -> oneOf[string, integer] breaks; the way back does not
    wider_reply = evolve(activity_id(string_or_int))
    assert "response-property-type-changed" in rules(RELEASED, wider_reply)
    assert rules(wider_reply, RELEASED) == set()
    # request: string -> anyOf[integer] breaks; string -> oneOf[string, integer] widens
    assert "request-property-type-changed" in rules(
        RELEASED, evolve(create_content({"anyOf": [{"type": "integer"}]}))
    )
    wider_request = evolve(create_content(string_or_int))
    assert rules(RELEASED, wider_request) == set()
    assert "request-property-type-changed" in rules(wider_request, RELEASED)


def test_a_ref_to_another_schema_is_named_at_the_referring_property() -> None:
    changes = spec_breaking.breaking_changes(RELEASED, evolve(ref_to("PaginationLinks")))
    assert changes, "no change found"
    assert all(c.where.startswith(f"{SCHEMAS}/Activity/properties/author") for c in changes), [
        c.line() for c in changes
    ]
    assert changes[0].line() == (
        f"{SCHEMAS}/Activity/properties/author: response-property-ref-changed: "
        "Activity.author refers to PaginationLinks instead of Author"
    )


ADDITIVE: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    (
        "optional response property",
        lambda s: schema(s, "Activity")["properties"].update(pinned={"type": "boolean"}),
    ),
    (
        "optional request property",
        lambda s: schema(s, "ActivityCreate")["properties"].update(pinned={"type": "boolean"}),
    ),
    ("new response status", lambda s: op(s)["responses"].update({"429": {"description": "x"}})),
    ("request constraint relaxed", content(minLength=0)),
    ("response enum grows", set_enum("Author", "name", ["a", "b"])),
    ("descriptions", lambda s: schema(s, "Activity").update(description="Changed.")),
    (
        "optional header",
        lambda s: op(s)["parameters"].append(
            {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}
        ),
    ),
]


@pytest.mark.parametrize("edit", [c[1] for c in ADDITIVE], ids=[c[0] for c in ADDITIVE])
def test_additive_changes_pass(edit: Callable[[dict[str, Any]], None]) -> None:
    assert spec_breaking.breaking_changes(RELEASED, evolve(edit)) == []


def test_a_response_enum_growing_is_not_breaking_but_shrinking_a_request_one_is() -> None:
    old = evolve(set_enum("Author", "name", ["a"]))
    assert spec_breaking.breaking_changes(old, evolve(set_enum("Author", "name", ["a", "b"]))) == []
    old = evolve(set_enum("ActivityCreate", "content", ["a", "b"]))
    (change,) = spec_breaking.breaking_changes(
        old, evolve(set_enum("ActivityCreate", "content", ["a"]))
    )
    assert (change.where, change.rule) == (
        f"{SCHEMAS}/ActivityCreate/properties/content/enum",
        "request-property-enum-value-removed",
    )


# --- the escape: major bump + changelog entry ---------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "CHANGELOG.md", "openapi.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "tests/gates/released", tmp_path / "released")
    spec = yaml.safe_load((tmp_path / "openapi.yaml").read_text())
    schema(spec, "Author")["properties"].pop("email")
    (tmp_path / "openapi.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path


def run_gate(project: Path) -> int:
    return spec_breaking.main(
        [
            "--released",
            str(project / "released/openapi.yaml"),
            "--spec",
            str(project / "openapi.yaml"),
            "--root",
            str(project),
        ]
    )


def bump(project: Path, version: str) -> None:
    path = project / "pyproject.toml"
    path.write_text(path.read_text().replace('version = "0.1.0"', f'version = "{version}"', 1))


def name_in_changelog(project: Path, text: str) -> None:
    path = project / "CHANGELOG.md"
    path.write_text(
        path.read_text().replace("## [Unreleased]\n", f"## [Unreleased]\n\n{text}\n", 1)
    )


def test_a_breaking_change_fails_with_one_line_naming_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_gate(project) == 1
    err = capsys.readouterr().err
    assert (
        "BREAKING /components/schemas/Author/properties/email: response-property-removed: "
        "Author.email was removed" in err
    )
    assert "not named there yet: Author.email" in err


@pytest.mark.parametrize(
    ("version", "entry", "passes"),
    [
        ("0.2.0", "- Removed `Author.email`.", False),  # no major bump
        ("1.0.0", "- Removed the e-mail.", False),  # the entry does not name it
        ("1.0.0", "- Removed `Author.email`.", True),
        ("1.0.0", "- Removed /components/schemas/Author/properties/email.", True),
        ("1.0.0", "- Removed `/components/schemas/Author/properties/email`.", True),
        # the named change exactly: not a longer name, nor a passing unquoted mention
        ("1.0.0", "- Added `Author.email_verified`.", False),
        ("1.0.0", "- Author.email_verified is new.", False),
        ("1.0.0", "- Removed Author.email.", False),
        ("1.0.0", "- Removed /components/schemas/Author/properties/email_verified.", False),
        ("1.0.0", "- Removed /components/schemas/Author/properties/email/format.", False),
    ],
)
def test_it_passes_only_with_a_major_bump_and_a_changelog_entry_naming_it(
    project: Path, version: str, entry: str, passes: bool
) -> None:
    bump(project, version)
    name_in_changelog(project, entry)
    assert (run_gate(project) == 0) is passes


def test_the_checkout_has_no_unreleased_breaking_change() -> None:
    assert spec_breaking.main([]) == 0


def test_path_parameters_are_paired_by_their_place_in_the_path() -> None:
    def spec(path: str, *names: str) -> dict[str, Any]:
        parameters = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "integer"}}
            for n in names
        ]
        return {"paths": {path: {"get": {"parameters": parameters, "responses": {}}}}}

    old = spec("/a/{x}/b/{y}", "x", "y")
    new = spec("/a/{p}/b/{q}", "q", "p")  # declared in another order
    found = {c.name: c.detail for c in spec_breaking.breaking_changes(old, new)}
    assert found == {
        "GET /a/{x}/b/{y} path parameter x": "GET /a/{x}/b/{y} path parameter x was renamed to "
        "p (the keyword argument of the generated function changes)",
        "GET /a/{x}/b/{y} path parameter y": "GET /a/{x}/b/{y} path parameter y was renamed to "
        "q (the keyword argument of the generated function changes)",
    }
    assert spec_breaking.breaking_changes(old, spec("/a/{x}/b/{y}", "y", "x")) == []
