"""The breaking-change gate for openapi.yaml: compares it with the released contract and
prints one line per breaking change (a JSON pointer and the rule), exiting 1 unless each
comes with a major version bump and a CHANGELOG.md entry naming it (see release.py).

    python tests/gates/spec_breaking.py [--released OLD.yaml] [--spec NEW.yaml]

Written here, rule by rule, because no maintained tool runs offline on this machine:
oasdiff ships only as a Go binary and @useoptic/optic 1.0.9 fails to start under Node 20.
The rule names follow oasdiff's checklist (https://github.com/oasdiff/oasdiff, BREAKING-
CHANGES-EXAMPLES.md). A reply is read tolerantly by the client (spp_activities.contract),
so a response property gaining an enum value or a looser constraint is not breaking here;
a request is checked strictly, so anything that refuses a body valid before is.

Not covered (reported by oasdiff, unused by this spec): callbacks, links, webhooks,
cookie parameters' styles, discriminator mappings and readOnly/writeOnly changes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from release import RELEASED, ROOT, Breaking, verdict

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Request constraints, and the direction in which a new value tightens them.
_TIGHTER_IF_LOWER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_TIGHTER_IF_HIGHER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Diff:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.changes: dict[tuple[str, str], Breaking] = {}

    def add(self, where: str, rule: str, name: str, detail: str) -> None:
        self.changes.setdefault((where, rule), Breaking(where, rule, name, detail))

    def resolve(self, doc: dict[str, Any], node: Any, where: str) -> tuple[Any, str, str | None]:
        """(the node a $ref names, its pointer, its component name or None)."""
        component = None
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            where = ref.removeprefix("#")
            target: Any = doc
            for part in ref.removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            component = ref.rsplit("/", 1)[-1]
            node = target
        return node, where, component

    # -- the document ---------------------------------------------------------------

    def run(self) -> list[Breaking]:
        self.security_schemes()
        old_paths = self.old.get("paths", {})
        # The same path whatever its parameters' names: /clients/{user} is /clients/{client}.
        new_paths = {_template(path): path for path in self.new.get("paths", {})}
        for path, old_item in old_paths.items():
            where = "/paths/" + escape(path)
            new_path = new_paths.get(_template(path))
            if new_path is None:
                self.add(where, "api-path-removed", path, f"the path {path} was removed or renamed")
                continue
            new_item = self.new["paths"][new_path]
            renamed = {
                old: new
                for old, new in zip(
                    _PARAMETER.findall(path), _PARAMETER.findall(new_path), strict=True
                )
                if old != new
            }
            for method in METHODS:
                if method in old_item:
                    self.operation(path, method, old_item, new_item, f"{where}/{method}", renamed)
        return sorted(self.changes.values())

    def security_schemes(self) -> None:
        old = self.old.get("components", {}).get("securitySchemes", {})
        new = self.new.get("components", {}).get("securitySchemes", {})
        for name, scheme in old.items():
            where = "/components/securitySchemes/" + escape(name)
            if name not in new:
                self.add(where, "security-scheme-removed", name, f"{name} was removed")
                continue
            keys = ("type", "scheme", "in", "name", "bearerFormat", "flows", "openIdConnectUrl")
            for key in keys:
                if scheme.get(key) != new[name].get(key):
                    self.add(
                        f"{where}/{key}",
                        "security-scheme-changed",
                        name,
                        f"{name}.{key} changed from {scheme.get(key)!r} to {new[name].get(key)!r}",
                    )

    def operation(
        self,
        path: str,
        method: str,
        old_item: dict[str, Any],
        new_item: dict[str, Any],
        where: str,
        renamed: dict[str, str],
    ) -> None:
        label = f"{method.upper()} {path}"
        old, new = old_item[method], new_item.get(method)
        if new is None:
            self.add(where, "api-removed", label, f"the operation {label} was removed")
            return
        if old.get("operationId") != new.get("operationId"):
            self.add(
                f"{where}/operationId",
                "api-operation-id-changed",
                label,
                f"operationId changed from {old.get('operationId')!r} to "
                f"{new.get('operationId')!r} (the generated function is renamed)",
            )
        old_security = old.get("security", self.old.get("security", []))
        new_security = new.get("security", self.new.get("security", []))
        lost = [r for r in old_security if r not in new_security]
        if (
            lost
            or (not old_security and new_security)
            or ({} in old_security) > ({} in new_security)
        ):
            self.add(
                f"{where}/security",
                "api-security-changed",
                label,
                f"the security requirements changed from {json.dumps(old_security)} to "
                f"{json.dumps(new_security)}",
            )
        self.parameters(old_item, new_item, old, new, where, label, renamed)
        self.request_body(old, new, where, label)
        self.responses(old, new, where, label)

    def _parameters(
        self, doc: dict[str, Any], item: dict[str, Any], op: dict[str, Any]
    ) -> dict[tuple[str, str], Any]:
        found: dict[tuple[str, str], Any] = {}
        for parameter in [*item.get("parameters", []), *op.get("parameters", [])]:
            resolved, _, _ = self.resolve(doc, parameter, "")
            name = resolved["name"].lower() if resolved["in"] == "header" else resolved["name"]
            found[(resolved["in"], name)] = resolved
        return found

    def parameters(
        self,
        old_item: dict[str, Any],
        new_item: dict[str, Any],
        old: dict[str, Any],
        new: dict[str, Any],
        where: str,
        label: str,
        renamed: dict[str, str],
    ) -> None:
        """``renamed``: the path parameters whose names changed, old name -> new name."""
        old_params = self._parameters(self.old, old_item, old)
        new_params = self._parameters(self.new, new_item, new)
        for key, parameter in new_params.items():
            spot = f"{where}/parameters/{escape(key[0])}/{escape(parameter['name'])}"
            name = f"{label} {key[0]} parameter {parameter['name']}"
            renamed_path_parameter = key[0] == "path" and key[1] in renamed.values()
            if key not in old_params and parameter.get("required") and not renamed_path_parameter:
                self.add(
                    spot, "new-required-request-parameter", name, f"{name} is new and required"
                )
            elif (
                key in old_params
                and parameter.get("required")
                and not old_params[key].get("required")
            ):
                self.add(spot, "request-parameter-became-required", name, f"{name} became required")
        for key, parameter in old_params.items():
            spot = f"{where}/parameters/{escape(key[0])}/{escape(parameter['name'])}"
            name = f"{label} {key[0]} parameter {parameter['name']}"
            if key not in new_params:
                if key[0] == "path" and ("path", renamed.get(key[1])) in new_params:
                    # The same URL on the wire, but the generated function's keyword changes.
                    self.add(
                        spot,
                        "request-path-parameter-renamed",
                        name,
                        f"{name} was renamed to {renamed[key[1]]} (the keyword argument of "
                        "the generated function changes)",
                    )
                    self.schema(
                        parameter.get("schema", {}),
                        new_params[("path", renamed[key[1]])].get("schema", {}),
                        f"{spot}/schema",
                        name,
                        request=True,
                    )
                else:
                    self.add(spot, "request-parameter-removed", name, f"{name} was removed")
                continue
            self.schema(
                parameter.get("schema", {}),
                new_params[key].get("schema", {}),
                f"{spot}/schema",
                name,
                request=True,
            )

    def request_body(
        self, old: dict[str, Any], new: dict[str, Any], where: str, label: str
    ) -> None:
        old_body, _, _ = self.resolve(self.old, old.get("requestBody"), "")
        new_body, _, _ = self.resolve(self.new, new.get("requestBody"), "")
        spot = f"{where}/requestBody"
        if new_body and new_body.get("required") and not (old_body or {}).get("required"):
            self.add(
                spot, "request-body-became-required", label, f"the {label} body became required"
            )
        if not old_body:
            return
        for media, content in old_body.get("content", {}).items():
            new_content = (new_body or {}).get("content", {}).get(media)
            media_spot = f"{spot}/content/{escape(media)}"
            if new_content is None:
                self.add(
                    media_spot,
                    "request-body-media-type-removed",
                    f"{label} {media}",
                    f"{media} is no longer accepted",
                )
                continue
            self.schema(
                content.get("schema", {}),
                new_content.get("schema", {}),
                f"{media_spot}/schema",
                label,
                request=True,
            )

    def responses(self, old: dict[str, Any], new: dict[str, Any], where: str, label: str) -> None:
        new_responses = new.get("responses", {})
        for status, old_response in old.get("responses", {}).items():
            spot = f"{where}/responses/{escape(str(status))}"
            name = f"{label} {status}"
            if status not in new_responses:
                self.add(
                    spot, "response-status-removed", name, f"{label} no longer documents {status}"
                )
                continue
            old_r, _, _ = self.resolve(self.old, old_response, spot)
            new_r, _, _ = self.resolve(self.new, new_responses[status], spot)
            for header in old_r.get("headers", {}):
                if header not in new_r.get("headers", {}):
                    self.add(
                        f"{spot}/headers/{escape(header)}",
                        "response-header-removed",
                        f"{name} header {header}",
                        f"the {header} header of {name} was removed",
                    )
            for media, content in old_r.get("content", {}).items():
                new_content = new_r.get("content", {}).get(media)
                media_spot = f"{spot}/content/{escape(media)}"
                if new_content is None:
                    self.add(
                        media_spot,
                        "response-media-type-removed",
                        f"{name} {media}",
                        f"{name} no longer replies with {media}",
                    )
                    continue
                self.schema(
                    content.get("schema", {}),
                    new_content.get("schema", {}),
                    f"{media_spot}/schema",
                    name,
                    request=False,
                )

    # -- schemas --------------------------------------------------------------------

    def schema(
        self,
        old: Any,
        new: Any,
        where: str,
        name: str,
        *,
        request: bool,
        seen: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        side = "request" if request else "response"
        old, old_where, old_component = self.resolve(self.old, old, where)
        new, new_where, new_component = self.resolve(self.new, new, where)
        if old_component and new_component and old_component != new_component:
            # Another schema behind the same property: the generated type changes. Reported,
            # with what differs beneath, at the referring property, not in either component.
            self.add(
                where,
                f"{side}-property-ref-changed",
                name,
                f"{name} refers to {new_component} instead of {old_component}",
            )
        else:
            if new_component:
                name = new_component
            where = new_where if new_where != where else old_where
        if (old_where, new_where) in seen or not isinstance(old, dict) or not isinstance(new, dict):
            return
        seen = seen | {(old_where, new_where)}
        old, new = self.flatten(self.old, old), self.flatten(self.new, new)
        self.types(old, new, where, name, side)
        if old.get("format") != new.get("format") and (old.get("format") or request):
            self.add(
                f"{where}/format",
                f"{side}-property-format-changed",
                name,
                f"{name}: format changed from {old.get('format')!r} to {new.get('format')!r}",
            )
        if request:
            self.request_constraints(old, new, where, name)
        self.properties(old, new, where, name, request=request, seen=seen)
        for key in ("items", "additionalProperties"):
            if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
                self.schema(
                    old[key],
                    new[key],
                    f"{where}/{key}",
                    f"{name}[]" if key == "items" else f"{name}{{}}",
                    request=request,
                    seen=seen,
                )
        if (
            request
            and new.get("additionalProperties") is False
            and old.get("additionalProperties") is not False
        ):
            self.add(
                f"{where}/additionalProperties",
                "request-additional-properties-removed",
                name,
                f"{name} no longer accepts other properties",
            )
        for key in ("oneOf", "anyOf"):
            old_branches = [_canonical(self.resolve(self.old, b, "")[0]) for b in old.get(key, [])]
            new_branches = [_canonical(self.resolve(self.new, b, "")[0]) for b in new.get(key, [])]
            if request and [b for b in old_branches if b not in new_branches]:
                self.add(
                    f"{where}/{key}",
                    f"request-property-{key.lower()}-removed",
                    name,
                    f"{name}: a {key} alternative was removed or changed",
                )
            if not request and old_branches and [b for b in new_branches if b not in old_branches]:
                self.add(
                    f"{where}/{key}",
                    f"response-property-{key.lower()}-added",
                    name,
                    f"{name}: a {key} alternative was added or changed",
                )

    def flatten(self, doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with its allOf members merged in (properties and required united)."""
        if "allOf" not in schema:
            return schema
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        for member in schema["allOf"]:
            part = self.flatten(doc, self.resolve(doc, member, "")[0])
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def types(
        self, old: dict[str, Any], new: dict[str, Any], where: str, name: str, side: str
    ) -> None:
        old_types, new_types = self.all_types(self.old, old), self.all_types(self.new, new)
        if old_types is None or new_types is None:
            return
        if side == "request":  # every value accepted before must still be accepted
            lost = {
                t for t in old_types - new_types if not (t == "integer" and "number" in new_types)
            }
            if lost == {"null"}:
                self.add(
                    f"{where}/type",
                    "request-property-became-not-nullable",
                    name,
                    f"{name} no longer accepts null",
                )
            elif lost:
                self.add(
                    f"{where}/type",
                    "request-property-type-changed",
                    name,
                    f"{name}: type changed from {_show(old_types)} to {_show(new_types)}",
                )
        else:  # every value the reply may carry must be one the reader knew
            gained = {
                t for t in new_types - old_types if not (t == "integer" and "number" in old_types)
            }
            if gained == {"null"}:
                self.add(
                    f"{where}/type",
                    "response-property-became-nullable",
                    name,
                    f"{name} may now be null",
                )
            elif gained:
                self.add(
                    f"{where}/type",
                    "response-property-type-changed",
                    name,
                    f"{name}: type changed from {_show(old_types)} to {_show(new_types)}",
                )

    def all_types(
        self, doc: dict[str, Any], schema: dict[str, Any], depth: int = 0
    ) -> set[str] | None:
        """The JSON types ``schema`` admits, through its ``oneOf``/``anyOf`` branches too;
        None when that is not known (a branch without a type, or too deep)."""
        types = _types(schema)
        branches = [*schema.get("oneOf", []), *schema.get("anyOf", [])]
        if not branches:
            return types
        if depth > 8:
            return None
        union: set[str] = set()
        for branch in branches:
            resolved = self.flatten(doc, self.resolve(doc, branch, "")[0])
            found = self.all_types(doc, resolved, depth + 1) if isinstance(resolved, dict) else None
            if found is None:
                return types
            union |= found
        if schema.get("nullable"):
            union.add("null")
        return union if types is None else union & types

    def request_constraints(
        self, old: dict[str, Any], new: dict[str, Any], where: str, name: str
    ) -> None:
        for key in _TIGHTER_IF_LOWER + _TIGHTER_IF_HIGHER:
            before, after = old.get(key), new.get(key)
            if after is None or before == after:
                continue
            lower = key in _TIGHTER_IF_LOWER
            if before is None or (after < before if lower else after > before):
                verb = "added" if before is None else "decreased" if lower else "increased"
                self.add(
                    f"{where}/{key}",
                    f"request-property-{_kebab(key)}-{verb}",
                    name,
                    f"{name}: {key} {verb} ({before} -> {after})",
                )
        for key in ("pattern", "multipleOf", "const"):
            if key in new and old.get(key) != new[key]:
                verb = "added" if key not in old else "changed"
                self.add(
                    f"{where}/{key}",
                    f"request-property-{_kebab(key)}-{verb}",
                    name,
                    f"{name}: {key} {verb}",
                )
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            self.add(
                f"{where}/uniqueItems",
                "request-property-unique-items-added",
                name,
                f"{name}: items must now be unique",
            )
        if "enum" in new:
            if "enum" not in old:
                self.add(
                    f"{where}/enum",
                    "request-property-enum-added",
                    name,
                    f"{name}: now limited to {new['enum']}",
                )
            else:
                removed = [v for v in old["enum"] if v not in new["enum"]]
                if removed:
                    self.add(
                        f"{where}/enum",
                        "request-property-enum-value-removed",
                        name,
                        f"{name}: enum values removed: {removed}",
                    )

    def properties(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        where: str,
        name: str,
        *,
        request: bool,
        seen: frozenset[tuple[str, str]],
    ) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for prop in sorted(set(old_props) | set(new_props) | new_required):
            spot = f"{where}/properties/{escape(prop)}"
            label = f"{name}.{prop}"
            if prop in old_props and prop not in new_props:
                rule = "request-property-removed" if request else "response-property-removed"
                self.add(spot, rule, label, f"{label} was removed")
                continue
            if request and prop in new_required and prop not in old_required:
                rule = (
                    "request-property-became-required"
                    if prop in old_props
                    else "new-required-request-property"
                )
                self.add(spot, rule, label, f"{label} is now required")
            if not request and prop in old_required and prop not in new_required:
                self.add(
                    spot, "response-property-became-optional", label, f"{label} may now be absent"
                )
            if prop in old_props and prop in new_props:
                self.schema(
                    old_props[prop], new_props[prop], spot, label, request=request, seen=seen
                )


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        if "enum" in schema:
            return {_json_type(v) for v in schema["enum"]}
        return None
    types = {declared} if isinstance(declared, str) else set(declared)
    if schema.get("nullable"):  # OpenAPI 3.0
        types.add("null")
    return types


_PARAMETER = re.compile(r"\{([^}/]*)\}")


def _template(path: str) -> str:
    """``path`` with its parameters' names left out: ``/clients/{}/activities``."""
    return _PARAMETER.sub("{}", path)


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    return names.get(type(value), "object")


def _show(types: set[str]) -> str:
    return "/".join(sorted(types))


def _kebab(key: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in key)


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Breaking]:
    """Every breaking change from the ``old`` OpenAPI document to the ``new`` one."""
    return _Diff(old, new).run()


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--released", type=Path, default=RELEASED / "openapi.yaml")
    parser.add_argument("--spec", type=Path, default=ROOT / "openapi.yaml")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="where pyproject.toml and CHANGELOG.md are"
    )
    args = parser.parse_args(argv)
    changes = breaking_changes(_load(args.released), _load(args.spec))
    return verdict(changes, "openapi.yaml", root=args.root, released=args.released.parent)


if __name__ == "__main__":
    sys.exit(main())
