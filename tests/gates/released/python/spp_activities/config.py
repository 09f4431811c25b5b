"""Client configuration: arguments first, then the environment, then defaults.

=====================  ====================  =====================================
argument               environment variable  default
=====================  ====================  =====================================
``workspace_url``      ``SPP_WORKSPACE_URL`` none: required (or ``base_url``)
``token``              ``SPP_API_TOKEN``     none: required
``api_version``        ``SPP_API_VERSION``   ``2024-03-05``
``timeout``                                  connect 5 s, read 30 s, write 30 s,
                                             pool 10 s
``max_retries``                              2
=====================  ====================  =====================================

``workspace_url`` is a host or URL (``example.spp.co``, ``https://example.spp.co``,
``http://127.0.0.1:8000``); ``/api`` is appended unless already there.
``base_url`` is the API root, taken as is (e.g. a Prism mock that serves without
``/api``). Plain ``http://`` is accepted for loopback hosts only.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeGuard
from urllib.parse import urlsplit

import httpx

from .errors import ConfigurationError, SPPError

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "__version__",
    "api_root",
    "check_max_retries",
    "check_timeout",
    "is_loopback",
    "resolve_config",
]

__version__ = "0.1.0"

DEFAULT_API_VERSION = "2024-03-05"
DEFAULT_MAX_RETRIES = 2
#: The generated client waits forever by default; this one does not.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)

ENV_WORKSPACE_URL = "SPP_WORKSPACE_URL"
ENV_TOKEN = "SPP_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_API_VERSION = "SPP_API_VERSION"

USER_AGENT = f"spp-activities/{__version__} python-httpx/{httpx.__version__}"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """A resolved, validated configuration. ``repr`` never shows the token."""

    base_url: str
    token: str = field(repr=False)
    api_version: str
    timeout: httpx.Timeout
    max_retries: int

    def headers(self) -> dict[str, str]:
        """The headers sent with every request (the generated layer adds
        ``X-Api-Version`` and ``Content-Type``)."""
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }


def resolve_config(
    workspace_url: str | None = None,
    token: str | None = None,
    *,
    base_url: str | None = None,
    api_version: str | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Combine arguments, environment and defaults; raise ConfigurationError if unusable.

    A missing workspace and a missing token are reported together in one error
    that names the variables to set.
    """
    env = os.environ if environ is None else environ
    if workspace_url is not None and base_url is not None:
        raise ConfigurationError("Pass workspace_url or base_url, not both.")
    workspace_source = "workspace_url"  # named in errors: the argument or the variable
    if base_url is None and workspace_url is None:
        workspace_url = env.get(ENV_WORKSPACE_URL) or None
        workspace_source = ENV_WORKSPACE_URL
    token = token if token is not None else (env.get(ENV_TOKEN) or None)

    missing = []
    if base_url is None and workspace_url is None:
        missing.append(
            f"the workspace: pass workspace_url= (e.g. 'example.spp.co') or set {ENV_WORKSPACE_URL}"
        )
    if token is None:
        missing.append(f"the API token: pass token= or set {ENV_TOKEN}")
    if missing:
        raise ConfigurationError("Missing " + " and ".join(missing) + ".")
    assert token is not None

    if base_url is not None:
        root = _check_url(base_url, "base_url", append_api=False)
    else:
        assert workspace_url is not None
        root = _check_url(workspace_url, workspace_source, append_api=True)
    version: str | None
    if api_version:
        version, version_source = api_version, "api_version"
    else:
        version, version_source = env.get(ENV_API_VERSION) or None, ENV_API_VERSION
    return ClientConfig(
        base_url=root,
        token=_check_token(token),
        api_version=_check_api_version(version, version_source),
        timeout=check_timeout(timeout),
        max_retries=check_max_retries(max_retries),
    )


def api_root(workspace_url: str) -> str:
    """The API root for a workspace host or URL.

    >>> api_root("example.spp.co")
    'https://example.spp.co/api'
    >>> api_root("http://127.0.0.1:8000/")
    'http://127.0.0.1:8000/api'
    >>> api_root("https://example.spp.co/api/")
    'https://example.spp.co/api'
    """
    return _check_url(workspace_url, "workspace_url", append_api=True)


def _check_url(value: object, name: str, *, append_api: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty host or URL, e.g. 'example.spp.co'.")
    text = value.strip()
    if "://" not in text:
        if not append_api:
            raise ConfigurationError(
                f"{name} must be a full URL with http:// or https://, got {text!r}."
            )
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not a valid URL: {exc}.") from None
    if parts.username is not None or parts.password is not None:
        # Never echo the value: it holds credentials.
        raise ConfigurationError(
            f"{name} must not contain a user name or password; pass the token as token=."
        )
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigurationError(f"{name} must use https:// (got {scheme}://).")
    if not host:
        raise ConfigurationError(f"{name} has no host name: {text!r}.")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must not have a query or fragment: {text!r}.")
    path = parts.path.rstrip("/")
    if append_api and not path.endswith("/api"):
        path += "/api"
    root = f"{scheme}://{parts.netloc}{path}"
    # What httpx will connect to: refuse here what it would refuse on the first request
    # (e.g. "[::1]evil.com", a NUL, a bad IDNA label), and judge loopback by its reading too.
    try:
        httpx_host = httpx.URL(root).host
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are ValueErrors
        raise ConfigurationError(f"{name} is not a valid URL: {exc}") from None
    if any(ch.isspace() for ch in host):
        raise ConfigurationError(f"{name} has white space in its host name: {text!r}.")
    if scheme == "http" and not (is_loopback(host) and is_loopback(httpx_host)):
        raise ConfigurationError(
            f"{name} uses plain http:// for {host!r}, which would send the token unencrypted. "
            "Use https:// (http:// is allowed only for 127.0.0.1, ::1 and localhost)."
        )
    return root


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_token(token: object) -> str:
    # Messages here never include the token's value.
    if not isinstance(token, str):
        raise ConfigurationError(f"The API token must be a str, got {type(token).__name__}.")
    token = token.strip()
    if not token:
        raise ConfigurationError(f"The API token is empty: pass token= or set {ENV_TOKEN}.")
    if token.lower().startswith("bearer "):
        raise ConfigurationError("Pass the API token without the 'Bearer ' prefix.")
    if not token.isascii() or not token.isprintable() or " " in token:
        raise ConfigurationError(
            "The API token contains spaces, control or non-ASCII characters; "
            "copy it again from SPP (the value is not shown here)."
        )
    return token


def _check_api_version(version: str | None, source: str) -> str:
    if version is None:
        return DEFAULT_API_VERSION
    if not isinstance(version, str) or not version.strip():
        raise ConfigurationError(f"{source} must be a non-empty str, e.g. {DEFAULT_API_VERSION}.")
    version = version.strip()
    if not version.isascii() or not version.isprintable():
        raise ConfigurationError(f"{source} {version!r} is not a valid header value.")
    return version


#: The longest timeout accepted, in seconds: sockets cannot wait much longer (~292 years),
#: and beyond it they raise OverflowError. ``httpx.Timeout(None)`` means no limit.
MAX_TIMEOUT = 1e9


def check_timeout(
    timeout: object, error: Callable[[str], SPPError] = ConfigurationError
) -> httpx.Timeout:
    """Validate a timeout: positive seconds (for every phase) or an httpx.Timeout whose
    phases are positive seconds or None (no limit)."""
    if isinstance(timeout, httpx.Timeout):
        bad = [
            f"{phase}={seconds!r}"
            for phase, seconds in timeout.as_dict().items()
            if seconds is not None and not _is_seconds(seconds)
        ]
        if not bad:
            return timeout
        shown = ", ".join(bad)
    elif _is_seconds(timeout):
        return httpx.Timeout(float(timeout))
    else:
        shown = repr(timeout)
    raise error(
        f"timeout must be a positive number of seconds up to {MAX_TIMEOUT:g} or an "
        f"httpx.Timeout (None in it for no limit), got {shown}."
    )


def _is_seconds(value: object) -> TypeGuard[int | float]:
    # `not 0 < nan` and inf > MAX_TIMEOUT: both refused.
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT
    )


def check_max_retries(
    max_retries: object, error: Callable[[str], SPPError] = ConfigurationError
) -> int:
    """Validate a retry count: an int >= 0 (0 turns retries off)."""
    if isinstance(max_retries, int) and not isinstance(max_retries, bool) and max_retries >= 0:
        return max_retries
    raise error(f"max_retries must be an int >= 0, got {max_retries!r}.")
