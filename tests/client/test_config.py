"""Configuration: arguments, then SPP_* environment variables, then defaults;
one clear error naming what to set; http:// only for loopback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from spp_activities import (
    AsyncSPPClient,
    ConfigurationError,
    InvalidInputError,
    SPPClient,
)
from spp_activities.config import DEFAULT_TIMEOUT, MAX_TIMEOUT, resolve_config

ENV = ("SPP_WORKSPACE_URL", "SPP_API_TOKEN", "SPP_API_VERSION")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=[SPPClient, AsyncSPPClient])
def client_class(request: pytest.FixtureRequest) -> Any:
    return request.param


def test_missing_everything_names_both_variables(client_class: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        client_class()
    message = str(caught.value)
    assert "SPP_WORKSPACE_URL" in message
    assert "SPP_API_TOKEN" in message
    assert caught.value.may_have_been_created is False


def test_missing_token_names_only_the_token(client_class: Any) -> None:
    with pytest.raises(ConfigurationError, match="SPP_API_TOKEN") as caught:
        client_class("example.spp.co")
    assert "SPP_WORKSPACE_URL" not in str(caught.value)


def test_missing_workspace_names_only_the_workspace(
    client_class: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPP_API_TOKEN", "t")
    with pytest.raises(ConfigurationError, match="SPP_WORKSPACE_URL") as caught:
        client_class()
    assert "SPP_API_TOKEN" not in str(caught.value)


def test_empty_environment_values_count_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPP_WORKSPACE_URL", "")
    monkeypatch.setenv("SPP_API_TOKEN", "")
    with pytest.raises(ConfigurationError, match=r"SPP_WORKSPACE_URL.*SPP_API_TOKEN"):
        SPPClient()


def test_environment_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPP_WORKSPACE_URL", "acme.spp.co")
    monkeypatch.setenv("SPP_API_TOKEN", " env-token\n")
    monkeypatch.setenv("SPP_API_VERSION", "2025-06-01")
    with SPPClient() as client:
        assert client.base_url == "https://acme.spp.co/api"
        assert client.api_version == "2025-06-01"
        assert client._config.token.reveal() == "env-token"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SPP_WORKSPACE_URL", "http://example.spp.co"), ("SPP_API_VERSION", "2024\n03")],
)
def test_a_bad_value_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("SPP_WORKSPACE_URL", "example.spp.co")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=f"^{variable} "):
        resolve_config(token="t")


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPP_WORKSPACE_URL", "acme.spp.co")
    monkeypatch.setenv("SPP_API_TOKEN", "env-token")
    monkeypatch.setenv("SPP_API_VERSION", "2025-06-01")
    config = resolve_config("other.spp.co", "arg-token", api_version="2024-03-05")
    assert (config.base_url, config.token.reveal(), config.api_version) == (
        "https://other.spp.co/api",
        "arg-token",
        "2024-03-05",
    )


def test_defaults() -> None:
    config = resolve_config("example.spp.co", "t")
    assert config.api_version == "2024-03-05"
    assert config.timeout == DEFAULT_TIMEOUT
    assert config.timeout == httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
    assert config.max_retries == 2


@pytest.mark.parametrize(
    ("workspace_url", "api_root"),
    [
        ("example.spp.co", "https://example.spp.co/api"),
        ("  example.spp.co  ", "https://example.spp.co/api"),
        ("https://example.spp.co", "https://example.spp.co/api"),
        ("https://example.spp.co/", "https://example.spp.co/api"),
        ("https://example.spp.co/api", "https://example.spp.co/api"),
        ("https://example.spp.co/api/", "https://example.spp.co/api"),
        ("HTTPS://example.spp.co", "https://example.spp.co/api"),
        ("example.spp.co:8443", "https://example.spp.co:8443/api"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/api"),
        ("http://127.0.0.2:8000/", "http://127.0.0.2:8000/api"),
        ("http://localhost:8000", "http://localhost:8000/api"),
        ("http://[::1]:8000", "http://[::1]:8000/api"),
        ("http://[::1]", "http://[::1]/api"),
        ("http://LOCALHOST", "http://LOCALHOST/api"),
        ("https://spp.example.com/portal", "https://spp.example.com/portal/api"),
    ],
)
def test_workspace_url_forms_are_normalised(workspace_url: str, api_root: str) -> None:
    assert resolve_config(workspace_url, "t").base_url == api_root


@pytest.mark.parametrize(
    ("workspace_url", "problem"),
    [
        ("http://example.spp.co", "plain http://"),
        ("http://10.0.0.1:8000", "plain http://"),
        ("http://127.0.0.1.nip.io", "plain http://"),
        ("http://localhost.example.com", "plain http://"),
        ("http://127.0.0.1.evil.com:8000", "plain http://"),
        ("http://evil.com\\@127.0.0.1", "user name or password"),
        # loopback in some resolvers, but not a plain loopback address: refused to be safe
        ("http://127.1", "plain http://"),
        # a trailing dot sends the name to DNS instead of /etc/hosts
        ("http://localhost.:8000", "trailing dot"),
        ("http://LOCALHOST.", "trailing dot"),
        ("http://localhost..", "trailing dot"),
        ("http://localhost.localdomain", "plain http://"),
        ("http://foo.localhost", "plain http://"),
        ("http://127.0.0.1.", "trailing dot|plain http://"),
        ("http://0x7f.0.0.1", "plain http://"),
        ("http://[::ffff:127.0.0.1]", "plain http://"),
        ("ftp://example.spp.co", "https://"),
        ("https://", "no host"),
        ("https://example.spp.co?x=1", "query"),
        ("https://example.spp.co:99999", "not a valid URL"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        # accepted by urlsplit, refused by httpx: a config error now, not on the first call
        ("http://[::1]evil.com", "not a valid URL"),
        ("https://xn--zz.spp.co", "not a valid URL"),
        ("example.spp.co\x00", "not a valid URL"),
        ("exa mple.spp.co", "white space"),
    ],
)
def test_bad_workspace_urls_are_refused(workspace_url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        resolve_config(workspace_url, "t")


def test_base_url_is_taken_as_is() -> None:
    assert resolve_config(base_url="http://127.0.0.1:4010", token="t").base_url == (
        "http://127.0.0.1:4010"
    )
    assert resolve_config(base_url="https://mock.example/v1/", token="t").base_url == (
        "https://mock.example/v1"
    )


def test_base_url_over_plain_http_must_be_loopback() -> None:
    with pytest.raises(ConfigurationError, match="plain http://"):
        resolve_config(base_url="http://mock.example:4010", token="t")


def test_base_url_needs_a_scheme() -> None:
    with pytest.raises(ConfigurationError, match="full URL"):
        resolve_config(base_url="127.0.0.1:4010", token="t")


def test_workspace_url_and_base_url_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        resolve_config("example.spp.co", "t", base_url="https://example.spp.co/api")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": httpx.Timeout(5.0, connect=-1.0)}, "connect=-1.0"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"api_version": "  "}, "api_version"),
        ({"api_version": "2024\n03"}, "api_version"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        resolve_config("example.spp.co", "t", **options)


@pytest.mark.parametrize("token", ["Bearer abc", "two words", "tab\there", "ünïcode", "   "])
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(ConfigurationError, match="token"):
        resolve_config("example.spp.co", token)


def test_a_number_timeout_applies_to_every_phase() -> None:
    assert resolve_config("example.spp.co", "t", timeout=7).timeout == httpx.Timeout(7.0)


def test_the_longest_timeout_and_no_limit_are_accepted() -> None:
    no_limit = httpx.Timeout(None)
    assert resolve_config("example.spp.co", "t", timeout=no_limit).timeout == no_limit
    longest = resolve_config("example.spp.co", "t", timeout=MAX_TIMEOUT).timeout
    assert longest == httpx.Timeout(MAX_TIMEOUT)


def test_the_wrong_kind_of_http_client_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"httpx\.Client"):
        SPPClient("example.spp.co", "t", http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"httpx\.AsyncClient"):
        AsyncSPPClient("example.spp.co", "t", http_client=httpx.Client())  # type: ignore[arg-type]


def test_tls_verification_stays_on() -> None:
    with SPPClient("example.spp.co", "t") as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"


@pytest.mark.parametrize("name", ["Content-Type", "content-encoding", "Content-Digest"])
def test_a_header_that_describes_the_body_is_refused_by_name(name: str) -> None:
    from spp_activities.config import check_extra_headers

    with pytest.raises(InvalidInputError, match=f"{name} describes the body") as caught:
        check_extra_headers({name: "gzip"})
    assert caught.value.argument == "extra_headers"
