"""Running the sandbox: in a thread (start/stop, no leaks) and as `serve()` in a process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psutil
import pytest
from spp_activities.sandbox import Sandbox, SandboxOptionError


def test_start_picks_a_free_port_and_stop_leaves_nothing_behind() -> None:
    threads_before = set(threading.enumerate())
    process = psutil.Process()
    sockets_before = len(process.net_connections(kind="tcp"))
    files_before = process.num_fds()

    sandbox = Sandbox()
    with sandbox:
        assert sandbox.running
        assert sandbox.port != 0
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
        assert sandbox.workspace_url == sandbox.url
        assert sandbox.api_url == f"{sandbox.url}/api"
        assert sandbox.token == "sandbox-token"
        assert httpx.get(f"{sandbox.url}/_sandbox/stats").status_code == 200
    assert not sandbox.running
    assert set(threading.enumerate()) <= threads_before
    assert len(process.net_connections(kind="tcp")) <= sockets_before
    assert process.num_fds() <= files_before
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.url}/_sandbox/stats")


def test_two_sandboxes_run_side_by_side() -> None:
    first = Sandbox().start()
    second = Sandbox().start()
    try:
        assert first.port != second.port
        httpx.post(
            f"{first.api_url}/clients/1/activities",
            json={"content": "only in first"},
            headers={"Authorization": f"Bearer {first.token}"},
        )
        assert len(first.activities()) == 1
        assert second.activities() == []
    finally:
        first.stop()
        second.stop()


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxOptionError, match=f"cannot listen on 127.0.0.1:{port}"):
            Sandbox(port=port).start()


def test_inspection_needs_a_running_sandbox() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        Sandbox().activities()


def test_stop_is_quick_even_while_a_slow_reply_is_pending() -> None:
    sandbox = Sandbox(faults={"slow": 1.0}, slow_seconds=120).start()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(
                f"{sandbox.api_url}/clients/1/activities",
                json={"content": "x"},
                headers={"Authorization": f"Bearer {sandbox.token}"},
                timeout=60,
            )
        except httpx.HTTPError as exc:  # the reply or a closed connection, both fine
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while sandbox.stats()["activities"] == 0:
        threading.Event().wait(0.01)
    sandbox.stop()  # bounded by the stop timeout; a 120 s sleep would blow pytest's timeout
    caller.join(30)
    assert not caller.is_alive()


def run_serve(code: str, stop: signal.Signals) -> tuple[str, str, str, int]:
    """Run `code` (which calls serve) in a child, read its banner, check it serves, send
    `stop`; returns (the workspace URL, banner + the rest of stdout, stderr, exit code)."""
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        match = re.search(r"Workspace URL: (http://127\.0\.0\.1:\d+)", "".join(banner))
        assert match, "".join(banner)
        assert httpx.get(f"{match.group(1)}/_sandbox/stats").json()["requests"] == 0
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return match.group(1), "".join(banner) + out, err, process.returncode


def test_serve_prints_where_and_how_then_stops_on_sigint(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    code = (
        "from spp_activities.sandbox import serve\n"
        f"serve(port=0, db={str(db)!r}, faults='503=0.5', seed=1, rate_limit=50)\n"
    )
    url, out, err, returncode = run_serve(code, signal.SIGINT)
    assert returncode == 0, err
    assert "API token:     sandbox-token" in out
    assert f"export SPP_WORKSPACE_URL={url} SPP_API_TOKEN=sandbox-token" in out
    assert f"curl -X POST {url}/api/clients/1/activities" in out
    assert f"Timeline:      {url}/_sandbox/" in out
    assert "Faults:        503=0.5 (seed 1)" in out
    assert "Rate limit:    50 requests per second per token" in out
    assert str(db) in out
    assert "SPP sandbox stopped." in out
    assert "Traceback" not in err


def test_serve_stops_on_sigterm_and_keeps_custom_tokens_out_of_its_output() -> None:
    code = "from spp_activities.sandbox import serve\nserve(port=0, tokens=['my-own-secret'])\n"
    _, out, err, returncode = run_serve(code, signal.SIGTERM)
    assert returncode == 0, err
    assert "the one you passed with --token (1 accepted)" in out
    assert "my-own-secret" not in out + err
    assert "SPP sandbox stopped." in out


@pytest.mark.skipif(not socket.has_ipv6, reason="this machine has no IPv6")
def test_ipv6_loopback() -> None:
    with Sandbox(host="::1") as sandbox:
        assert sandbox.url.startswith("http://[::1]:")
        response = httpx.post(
            f"{sandbox.api_url}/clients/1/activities",
            json={"content": "over IPv6"},
            headers={"Authorization": f"Bearer {sandbox.token}"},
        )
        assert response.status_code == 201
