"""The reply check is derived from the generated attrs models, so it follows
openapi.yaml through `make generate`; these tests pin how types map to checks."""

from __future__ import annotations

import datetime
from typing import Any

import attrs
import pytest
from spp_activities.replies import _checker_for, _model_checker
from spp_activities.validation import WHITESPACE
from spp_api.types import UNSET, Unset


@attrs.define
class Inner:
    code: int


@attrs.define
class Sample:
    count: int
    ratio: float
    flag: bool
    when: datetime.datetime
    tags: list[str]
    inner: Inner
    note: str | None
    optional: int | Unset = UNSET
    extra: dict[str, Any] = attrs.field(init=False, factory=dict)


GOOD = {
    "count": 1,
    "ratio": 2,
    "flag": False,
    "when": "2025-12-19T10:00:00+01:00",
    "tags": ["a"],
    "inner": {"code": 3},
    "note": None,
}

check = _model_checker(Sample)


def test_a_conforming_value_passes() -> None:
    assert check(GOOD) is None
    assert check({**GOOD, "optional": 5, "unknown": object()}) is None


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        ({"count": False}, ".count", "must be an integer, got a boolean"),
        ({"ratio": "2"}, ".ratio", "must be a number, got a string"),
        ({"flag": 0}, ".flag", "must be a boolean, got an integer"),
        ({"when": "2025-12-19"}, ".when", "must be a date-time with a time zone"),
        ({"tags": ["a", 1]}, ".tags[1]", "must be a string, got an integer"),
        ({"tags": "a"}, ".tags", "must be an array, got a string"),
        ({"inner": {"code": "3"}}, ".inner.code", "must be an integer, got a string"),
        ({"inner": {}}, ".inner.code", "is missing"),
        ({"note": 5}, ".note", "must be a string, got an integer"),
        ({"optional": None}, ".optional", "must be an integer, got null"),
    ],
)
def test_each_type_is_checked(change: dict[str, Any], path: str, problem: str) -> None:
    result = check({**GOOD, **change})
    assert result is not None
    assert result[0] == path
    assert result[1].startswith(problem)


def test_required_fields_must_be_present_optional_ones_may_be_absent() -> None:
    assert check({k: v for k, v in GOOD.items() if k != "count"}) == (".count", "is missing")
    assert check({k: v for k, v in GOOD.items() if k != "note"}) == (".note", "is missing")


def test_an_unsupported_type_fails_loudly_instead_of_passing_everything() -> None:
    with pytest.raises(TypeError, match="no response check"):
        _checker_for(set[int])
    with pytest.raises(TypeError, match="no response check"):
        _checker_for(int | str)


def test_whitespace_covers_python_and_javascript() -> None:
    python = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(WHITESPACE) == python | {"\ufeff"}
