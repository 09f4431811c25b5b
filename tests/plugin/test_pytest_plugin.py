"""The `spp_sandbox` pytest plugin, as a user meets it: their test files, run by a child
pytest that finds the plugin through its `pytest11` entry point (as an installed
`spp-activities[sandbox]` provides it), never through this suite's conftest."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

EXTRA_HINT = "pip install 'spp-activities[sandbox]'"


@pytest.fixture(autouse=True)
def no_spp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's shell has no SPP_* variables pointing anywhere."""
    for name in ("SPP_WORKSPACE_URL", "SPP_API_TOKEN", "SPP_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers", *args)


def test_each_test_gets_a_fresh_sandbox_the_client_finds_by_itself(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_integration="""
        import os
        from spp_activities import SPPClient

        def test_creates_an_activity(spp_sandbox):
            with SPPClient() as client:
                activity = client.activities.create(7, "Called about the invoice")
            stored = spp_sandbox.activities(client_id=7)
            assert [(a["id"], a["content"]) for a in stored] == [
                (activity.id, "Called about the invoice")
            ]
            assert spp_sandbox.activities(client_id=8) == []
            assert spp_sandbox.stats()["created"] == 1
            assert os.environ["SPP_WORKSPACE_URL"] == spp_sandbox.workspace_url
            assert os.environ["SPP_API_TOKEN"] == spp_sandbox.token

        def test_the_next_test_starts_empty(spp_sandbox):
            assert spp_sandbox.activities() == []
            assert spp_sandbox.stats()["requests"] == 0

        def test_on_loopback_with_a_temporary_database(spp_sandbox, tmp_path):
            assert spp_sandbox.workspace_url.startswith("http://127.0.0.1:")
            assert spp_sandbox.db.parent == tmp_path

        def test_reset_forgets(spp_sandbox):
            with SPPClient() as client:
                client.activities.create(1, "one")
            spp_sandbox.reset()
            assert spp_sandbox.activities() == []
            assert spp_sandbox.stats()["requests"] == 0

        def test_the_environment_is_restored_after_each_test():
            assert "SPP_WORKSPACE_URL" not in os.environ
            assert "SPP_API_TOKEN" not in os.environ
        """
    )
    run(pytester).assert_outcomes(passed=5)


def test_the_marker_sets_faults_clients_seed_and_rate_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
        import httpx
        import pytest
        from spp_activities import NotFoundError, RateLimitError, ServerError, SPPClient

        @pytest.mark.spp_sandbox(faults={"500": 1.0})
        def test_a_500_after_storing(spp_sandbox):
            with SPPClient() as client, pytest.raises(ServerError) as caught:
                client.activities.create(1, "Called about the invoice")
            assert caught.value.may_have_been_created
            assert len(spp_sandbox.activities(client_id=1)) == 1
            assert spp_sandbox.stats()["faults_injected"] == 1

        @pytest.mark.spp_sandbox(clients=[5])
        def test_only_the_listed_clients_exist(spp_sandbox):
            with SPPClient() as client:
                client.activities.create(5, "exists")
                with pytest.raises(NotFoundError):
                    client.activities.create(1, "does not")

        @pytest.mark.spp_sandbox(rate_limit=0.2)
        def test_the_rate_limit(spp_sandbox):
            with SPPClient(max_retries=0) as client:
                client.activities.create(1, "first")
                with pytest.raises(RateLimitError):
                    client.activities.create(1, "second")

        SEQUENCES = []

        @pytest.mark.parametrize("run", [1, 2])
        @pytest.mark.spp_sandbox(faults={"503": 0.5}, seed=11)
        def test_the_seed_repeats_the_faults(spp_sandbox, run):
            url = f"{spp_sandbox.workspace_url}/api/clients/1/activities"
            auth = {"Authorization": f"Bearer {spp_sandbox.token}"}
            SEQUENCES.append(
                [httpx.post(url, json={"content": "x"}, headers=auth).status_code
                 for _ in range(20)]
            )
            assert {201, 503} <= set(SEQUENCES[-1])
            assert SEQUENCES[0] == SEQUENCES[-1]

        @pytest.mark.spp_sandbox(faults={"503": 1.0})
        class TestMarksOnAClass:
            @pytest.mark.spp_sandbox(seed=1)
            def test_apply_to_its_tests_and_merge(self, spp_sandbox):
                assert spp_sandbox.faults == {"503": 1.0}
                assert spp_sandbox.seed == 1

            @pytest.mark.spp_sandbox(faults={})
            def test_the_closest_mark_wins(self, spp_sandbox):
                assert spp_sandbox.faults == {}
        """
    )
    run(pytester).assert_outcomes(passed=7)


def test_bad_marks_fail_with_one_clear_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.spp_sandbox(fault={"500": 1.0})
        def test_misspelt_option(spp_sandbox):
            pass

        @pytest.mark.spp_sandbox({"500": 1.0})
        def test_positional(spp_sandbox):
            pass

        @pytest.mark.spp_sandbox(faults={"oops": 1.0})
        def test_unknown_fault(spp_sandbox):
            pass

        @pytest.mark.spp_sandbox(rate_limit=0)
        def test_bad_rate_limit(spp_sandbox):
            pass

        @pytest.mark.spp_sandbox(clients=[0])
        def test_bad_client(spp_sandbox):
            pass

        @pytest.mark.spp_sandbox(faults={"500": 1.0})
        def test_with_the_shared_sandbox(spp_sandbox_session):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=6)
    result.stdout.fnmatch_lines_random(
        [
            "*@pytest.mark.spp_sandbox: unknown option 'fault'; the options are clients, faults,*",
            "*@pytest.mark.spp_sandbox takes keyword arguments only*",
            "*@pytest.mark.spp_sandbox: faults: unknown fault kind 'oops'*",
            "*@pytest.mark.spp_sandbox: rate limit: 0 requests per second*",
            "*@pytest.mark.spp_sandbox: clients: client ID 0 is out of range*",
            "*spp_sandbox_session is shared by the whole session and takes none*",
        ]
    )
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "pytest_plugin.py" not in output  # no stack into the plugin
    assert "During handling" not in output


def test_the_session_sandbox_is_shared_and_the_environment_is_per_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_shared="""
        import os
        from spp_activities import SPPClient

        URLS = set()

        def test_first(spp_sandbox_session):
            URLS.add(spp_sandbox_session.workspace_url)
            with SPPClient() as client:
                client.activities.create(1, "kept")

        def test_not_using_it_sees_no_environment():
            assert "SPP_WORKSPACE_URL" not in os.environ

        def test_second_sees_what_the_first_stored(spp_sandbox_session):
            URLS.add(spp_sandbox_session.workspace_url)
            assert [a["content"] for a in spp_sandbox_session.activities()] == ["kept"]
            assert os.environ["SPP_WORKSPACE_URL"] == spp_sandbox_session.workspace_url
            spp_sandbox_session.reset()

        def test_after_a_reset_it_is_empty(spp_sandbox_session):
            URLS.add(spp_sandbox_session.workspace_url)
            assert spp_sandbox_session.activities() == []
            assert len(URLS) == 1
        """
    )
    run(pytester, "-p", "no:randomly").assert_outcomes(passed=4)


def test_tests_run_in_parallel_with_xdist_each_on_its_own_sandbox(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_parallel="""
        import os
        import pytest
        from spp_activities import SPPClient

        @pytest.mark.parametrize("n", range(8))
        def test_own_sandbox(spp_sandbox, n):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            with SPPClient() as client:
                for i in range(3):
                    client.activities.create(n + 1, f"{worker} #{i}")
            assert len(spp_sandbox.activities()) == 3

        @pytest.mark.parametrize("n", range(4))
        def test_shared_sandbox_per_worker(spp_sandbox_session, n):
            with SPPClient() as client:
                client.activities.create(1, f"shared {n}")
        """
    )
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_a_suite_that_never_uses_it_is_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain():
            assert "spp_activities.sandbox.pytest_plugin" in sys.modules  # loaded...
            assert "spp_activities.sandbox.server" not in sys.modules  # ...but nothing heavy
            assert "spp_activities.sandbox.app" not in sys.modules
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins:*spp-activities-*"])


def test_loading_the_plugin_imports_no_server_and_no_http_library() -> None:
    heavy = ("starlette", "uvicorn", "httpx", "openapi_core", "yaml", "spp_api")
    code = (
        "import sys\n"
        "import spp_activities.sandbox.pytest_plugin\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"


def test_without_the_sandbox_extra_only_tests_using_it_fail_and_they_say_what_to_install(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import sys

        # As if `pip install spp-activities` without [sandbox]: the server libraries are
        # not there (another plugin may have loaded them; forget them first).
        MISSING = {"starlette", "uvicorn", "openapi_core"}
        for name in list(sys.modules):
            if name.split(".")[0] in MISSING:
                del sys.modules[name]
        for name in MISSING:
            sys.modules[name] = None
        """
    )
    pytester.makepyfile(
        test_mixed="""
        def test_plain():
            assert 1 + 1 == 2

        def test_needs_a_sandbox(spp_sandbox):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    message = r"the spp_sandbox fixture needs the sandbox extra \((starlette|uvicorn|openapi_core)"
    assert re.search(f"^{message} is not installed\\): {re.escape(EXTRA_HINT)}$", output, re.M)
    assert "Traceback" not in output
    assert "During handling" not in output
