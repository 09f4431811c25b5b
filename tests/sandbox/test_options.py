"""Parsing the sandbox's options: clear errors for bad input, exact results for good input."""

from __future__ import annotations

import pytest
from spp_activities.sandbox import (
    ClientIds,
    FaultPlan,
    Sandbox,
    SandboxOptionError,
    SandboxOptions,
    parse_clients,
    parse_faults,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-100", list(range(1, 101))),
        ("1,2,5-9", [1, 2, 5, 6, 7, 8, 9]),
        (" 3 , 1-2 ", [1, 2, 3]),
        ("7", [7]),
        ("5-9,1-6", list(range(1, 10))),
    ],
)
def test_parse_clients(text: str, expected: list[int]) -> None:
    clients = parse_clients(text)
    assert list(clients) == expected
    assert len(clients) == len(expected)
    assert all(client_id in clients for client_id in expected)
    assert 0 not in clients
    assert max(expected) + 1 not in clients


def test_huge_client_ranges_cost_nothing() -> None:
    clients = parse_clients("1-1000000000000")
    assert 999_999_999_999 in clients
    assert 1_000_000_000_001 not in clients
    assert str(clients) == "1-1000000000000"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "entry 1 is empty"),
        ("1,,2", "entry 2 is empty"),
        ("abc", "entry 1 is not a client ID"),
        ("1,1-x", "entry 2 is not a client ID"),
        ("9-3", "range in entry 1 ends before it starts"),
        ("0-5", "out of range"),
        ("-5", "is not a client ID"),
        ("1-99999999999999999999", "out of range"),
    ],
)
def test_parse_clients_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(SandboxOptionError, match=problem) as caught:
        parse_clients(text)
    assert "--clients" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_client_ids_from_any_iterable() -> None:
    assert str(ClientIds.of([5, 3, 4, 10])) == "3-5,10"
    assert 100 in ClientIds.of(range(1, 101))
    with pytest.raises(SandboxOptionError, match="not an integer"):
        ClientIds.of(["1"])  # type: ignore[list-item]
    with pytest.raises(SandboxOptionError, match="out of range"):
        ClientIds.of([0])


def test_parse_faults() -> None:
    text = "429=0.05,503=0.05,500=0.02,reset=0.02,reset-after=0.02,slow=0.02"
    assert parse_faults(text) == {
        "429": 0.05,
        "503": 0.05,
        "500": 0.02,
        "reset": 0.02,
        "reset-after": 0.02,
        "slow": 0.02,
    }
    assert parse_faults("reset-before=0.1") == {"reset": 0.1}
    assert parse_faults("") == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("418=0.1", "entry 1 names an unknown fault kind; expected one of 429, 503, 500, reset"),
        ("429", "entry 1 has no rate; write KIND=RATE"),
        ("503=0.1,429=lots", "rate in entry 2 is not a number"),
        ("429=1.5", "rates are probabilities from 0 to 1"),
        ("429=-0.1", "rates are probabilities from 0 to 1"),
        ("429=nan", "rates are probabilities"),
        ("429=0.6,503=0.6", "add up to 1.2"),
        ("429=0.1,429=0.2", "given more than once"),
    ],
)
def test_parse_faults_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(SandboxOptionError, match=problem):
        parse_faults(text)


def test_sandbox_rejects_bad_options_before_starting() -> None:
    with pytest.raises(SandboxOptionError, match="unknown fault kind"):
        Sandbox(faults={"teapot": 0.1})
    with pytest.raises(SandboxOptionError, match="greater than 0"):
        Sandbox(rate_limit=0)
    with pytest.raises(SandboxOptionError, match="0 or more"):
        Sandbox(slow_seconds=-1)
    with pytest.raises(SandboxOptionError, match="list of tokens"):
        Sandbox(tokens="one-token")
    with pytest.raises(SandboxOptionError, match="without whitespace"):
        Sandbox(tokens=["has space"])
    with pytest.raises(SandboxOptionError, match="not a TCP port"):
        Sandbox(port=70000)


def test_fault_plan_is_deterministic_and_follows_the_rates() -> None:
    rates = {"429": 0.1, "reset": 0.2}
    first = [FaultPlan(rates, seed=42).draw() for _ in range(1)]
    plan_a, plan_b = FaultPlan(rates, seed=42), FaultPlan(rates, seed=42)
    draws = [plan_a.draw() for _ in range(2000)]
    assert draws == [plan_b.draw() for _ in range(2000)]
    assert draws[:1] == first
    assert 100 <= draws.count("429") <= 300
    assert 300 <= draws.count("reset") <= 500
    assert set(draws) == {"429", "reset", None}
    plan_a.restart()
    assert [plan_a.draw() for _ in range(50)] == draws[:50]
    assert FaultPlan({}, seed=1).draw() is None
    assert all(FaultPlan({"503": 1.0}).draw() == "503" for _ in range(20))


def test_repr_never_shows_tokens() -> None:
    sandbox = Sandbox(tokens=["very-secret-value"])
    assert "very-secret-value" not in repr(sandbox)
    with sandbox:
        assert "very-secret-value" not in repr(sandbox)
        assert sandbox.url in repr(sandbox)


HUGE = 10**5000


@pytest.mark.parametrize(
    "option",
    ["port", "seed", "slow_seconds", "rate_limit", "read_timeout", "max_connections", "clients"],
)
@pytest.mark.parametrize("value", [HUGE, -HUGE], ids=["huge", "-huge"])
def test_a_huge_int_for_a_numeric_option_is_a_clear_error(option: str, value: int) -> None:
    """Python cannot print such an int: the message describes it by size, never a bare
    ValueError/OverflowError from building the message."""
    given: dict[str, object] = {option: [value] if option == "clients" else value}
    if option == "seed":
        SandboxOptions(**given)  # type: ignore[arg-type]  # any int seeds the faults
        return
    with pytest.raises(SandboxOptionError, match="16610-bit int"):
        SandboxOptions(**given)  # type: ignore[arg-type]


def test_a_huge_fault_rate_is_a_clear_error() -> None:
    with pytest.raises(SandboxOptionError, match="16610-bit int"):
        SandboxOptions(faults={"429": HUGE})
