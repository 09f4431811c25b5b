"""schemathesis fuzzes the running sandbox from openapi.yaml: zero failures, every check on.

The CLI runs in a subprocess against a sandbox on a free port, with `--checks all`, which
includes ignored_auth, negative_data_rejection and positive_data_acceptance. No check is
excluded. A fixed seed keeps the run reproducible; the example budget keeps it quick.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from spp_activities.sandbox import Sandbox

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_schemathesis_finds_no_failures_with_all_checks(sandbox: Sandbox, tmp_path: Path) -> None:
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            str(SPEC),
            "--url",
            sandbox.api_url,
            "--header",
            f"Authorization: Bearer {sandbox.token}",
            "--checks",
            "all",
            "--max-examples",
            "80",
            "--seed",
            "20251219",
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "No issues found" in output, output
    # It really exercised the API: activities were created and every kind of reply was seen.
    stats = sandbox.stats()
    assert stats["activities"] > 0
    assert {"201", "400", "401", "404"} <= set(stats["by_status"]), stats
