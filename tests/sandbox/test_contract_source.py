"""The sandbox judges requests by openapi.yaml itself, found where it is installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from spp_activities import contract
from spp_activities.sandbox import contract as sandbox_contract

REPO_SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_in_a_checkout_the_repository_contract_is_used() -> None:
    assert contract.spec_text() == REPO_SPEC.read_text(encoding="utf-8")


def test_in_a_wheel_the_packaged_contract_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "openapi.yaml").write_text("openapi: 3.1.0  # packaged copy\n", encoding="utf-8")
    monkeypatch.setattr(contract.importlib.resources, "files", lambda package: tmp_path)
    assert contract.spec_text() == "openapi: 3.1.0  # packaged copy\n"


def test_a_changed_contract_changes_what_the_sandbox_accepts() -> None:
    # Proof that the rules come from the spec text, not from a copy in the sandbox.
    relaxed = re.sub(
        r"pattern: '\[\^[^']*\]'", "pattern: .*", REPO_SPEC.read_text(encoding="utf-8")
    )
    assert relaxed != REPO_SPEC.read_text(encoding="utf-8")
    blank = {"path": "/api/clients/1/activities", "content_type": "application/json"}
    headers = {"Authorization": "Bearer t"}
    strict = sandbox_contract.ContractValidator()
    loose = sandbox_contract.ContractValidator(relaxed)
    assert strict.check_create(headers=headers, body=b'{"content": " "}', **blank) is not None
    assert loose.check_create(headers=headers, body=b'{"content": " "}', **blank) is None
