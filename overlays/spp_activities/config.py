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
``attempt_deadline``                         60 s: one attempt, start to last byte
``call_deadline``                            180 s: the whole call, retries and
                                             their waits included
``max_response_bytes``                       1 MiB (1,048,576): the decoded reply
=====================  ====================  =====================================

Every setting but the workspace and the token can also be changed per call
(:class:`RequestOptions`, the keyword arguments of ``activities.create``) or for
a copy of the client (``client.with_options(...)``).

``workspace_url`` is a host or URL (``example.spp.co``, ``https://example.spp.co``,
``http://127.0.0.1:8000``); ``/api`` is appended unless already there.
``base_url`` is the API root, taken as is (e.g. a Prism mock that serves without
``/api``). Plain ``http://`` is accepted for loopback hosts only: 127.0.0.0/8, ::1
and ``localhost`` exactly (``localhost.`` with a trailing dot is resolved by DNS,
not ``/etc/hosts``, so it is refused).

The token is held in a :class:`Token`, whose ``repr`` and ``str`` are masked and
which refuses to be pickled: a traceback that captures local variables, a debugger
or a pickle never finds it. The ``Authorization`` header is built from it only
when a request is sent.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, NoReturn, TypedDict, TypeGuard
from urllib.parse import urlsplit

import httpx

from .errors import ConfigurationError, InvalidInputError, SPPError, describe_value
from .vendor import DEFAULT_API_VERSION

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_ATTEMPT_DEADLINE",
    "DEFAULT_CALL_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NO_OPTIONS",
    "ClientConfig",
    "ExtraHeaders",
    "RequestOptions",
    "RequestOptionsArgs",
    "Token",
    "__version__",
    "api_root",
    "check_max_retries",
    "check_timeout",
    "is_loopback",
    "request_options",
    "resolve_config",
]

__version__ = "0.1.0"

DEFAULT_MAX_RETRIES = 2
#: The generated client waits forever by default; this one does not.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
#: httpx's timeouts are per socket operation: a server that trickles a byte at a time
#: defeats them. These bound one attempt and the whole call (retries and waits included).
DEFAULT_ATTEMPT_DEADLINE = 60.0
DEFAULT_CALL_DEADLINE = 180.0
#: The largest reply body read, after decompression (a gzip bomb stops here).
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024

ENV_WORKSPACE_URL = "SPP_WORKSPACE_URL"
ENV_TOKEN = "SPP_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_API_VERSION = "SPP_API_VERSION"

USER_AGENT = f"spp-activities/{__version__} python-httpx/{httpx.__version__}"


class Token:
    """The API token. ``repr``/``str`` are masked, and pickling it is refused.

    >>> Token("sk-live-123")
    Token('***')
    >>> Token("sk-live-123").reveal()
    'sk-live-123'
    """

    __slots__ = ("_value",)

    def __init__(self, value: object) -> None:
        # Any object: the check comes later and never echoes it.
        self._value: object = value._value if isinstance(value, Token) else value

    def reveal(self) -> str:
        """The token itself; call it only where the header is written."""
        value = self._value
        assert isinstance(value, str), "an unchecked token"
        return value

    def __repr__(self) -> str:
        return "Token('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Token):
            return NotImplemented
        mine, theirs = self._value, other._value
        if not (isinstance(mine, str) and isinstance(theirs, str)):
            return mine is theirs
        return hmac.compare_digest(mine.encode(), theirs.encode())

    def __hash__(self) -> int:
        return hash(Token)

    def __reduce__(self) -> NoReturn:
        raise TypeError("The API token cannot be pickled.")


#: Per-call extra headers; ``None`` as a value removes a header the client would send.
ExtraHeaders = Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """A resolved, validated configuration. ``repr`` never shows the token."""

    base_url: str
    token: Token
    api_version: str
    timeout: httpx.Timeout
    max_retries: int
    attempt_deadline: float = DEFAULT_ATTEMPT_DEADLINE
    call_deadline: float = DEFAULT_CALL_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def headers(self) -> dict[str, str]:
        """The headers sent with every request, but ``Authorization`` (added as each
        request is sent) and those the generated layer adds (``X-Api-Version``,
        ``Content-Type``). Only gzip and deflate are asked for: the client decodes
        them itself, within ``max_response_bytes``."""
        return {
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": USER_AGENT,
        }

    def for_call(self, options: RequestOptions) -> ClientConfig:
        """This configuration with one call's options applied."""
        if options is NO_OPTIONS:
            return self
        return ClientConfig(
            base_url=self.base_url,
            token=self.token,
            api_version=self.api_version,
            timeout=self.timeout if options.timeout is None else httpx.Timeout(options.timeout),
            max_retries=self.max_retries if options.max_retries is None else options.max_retries,
            attempt_deadline=_first(options.attempt_deadline, self.attempt_deadline),
            call_deadline=_first(options.call_deadline, self.call_deadline),
            max_response_bytes=self.max_response_bytes,
        )


def _first(option: float | None, default: float) -> float:
    return default if option is None else option


class RequestOptionsArgs(TypedDict, total=False):
    """The keyword arguments of ``activities.create``: the fields of RequestOptions
    (``tests/client/test_resources.py`` checks that the two agree)."""

    timeout: float | httpx.Timeout
    max_retries: int
    attempt_deadline: float
    call_deadline: float
    extra_headers: ExtraHeaders


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestOptions:
    """The options of one call, each overriding the client's setting; the keyword
    arguments of ``activities.create``. Checked when built: a bad value raises
    InvalidInputError naming it, before anything is sent. :func:`request_options`
    builds one from those keyword arguments.

    Attributes:
        timeout: seconds or an ``httpx.Timeout``, per socket operation.
        max_retries: retries for this call; 0 disables them.
        attempt_deadline: seconds one attempt may take, from sending to the last byte.
        call_deadline: seconds the whole call may take, retries and waits included.
        extra_headers: headers to add; a ``None`` value removes one the client would
            send (e.g. ``{"Authorization": None}``). Headers that frame the message
            (``Content-Length``, ``Host``, ``Transfer-Encoding``...) or describe the
            body (``Content-Type``, ``Content-Encoding``...) are refused.
    """

    timeout: float | httpx.Timeout | None = None
    max_retries: int | None = None
    attempt_deadline: float | None = None
    call_deadline: float | None = None
    extra_headers: ExtraHeaders | None = field(default=None, repr=False)  # may hold credentials

    def __post_init__(self) -> None:
        def invalid(argument: str) -> Callable[[str], SPPError]:
            return lambda message: InvalidInputError(message, argument=argument)

        checked: dict[str, object] = {}
        if self.timeout is not None:
            checked["timeout"] = check_timeout(self.timeout, invalid("timeout"))
        if self.max_retries is not None:
            check_max_retries(self.max_retries, invalid("max_retries"))
        for name in ("attempt_deadline", "call_deadline"):
            value = getattr(self, name)
            if value is not None:
                checked[name] = check_seconds(value, name, invalid(name))
        if self.extra_headers is not None:
            checked["extra_headers"] = check_extra_headers(self.extra_headers)
        for name, value in checked.items():
            object.__setattr__(self, name, value)


def resolve_config(
    workspace_url: str | None = None,
    token: str | Token | None = None,
    *,
    base_url: str | None = None,
    api_version: str | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    attempt_deadline: float = DEFAULT_ATTEMPT_DEADLINE,
    call_deadline: float = DEFAULT_CALL_DEADLINE,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Combine arguments, environment and defaults; raise ConfigurationError if unusable.

    A missing workspace and a missing token are reported together in one error
    that names the variables to set. ``token`` may be a :class:`Token`; a str is
    wrapped in one at once, so that no frame of a traceback holds it in the clear
    (the environment is read through a helper for the same reason).
    """
    secret = token if isinstance(token, Token) else Token(token)
    del token
    if workspace_url is not None and base_url is not None:
        raise ConfigurationError("Pass workspace_url or base_url, not both.")
    workspace_source = "workspace_url"  # named in errors: the argument or the variable
    if base_url is None and workspace_url is None:
        workspace_url = _from_env(environ, ENV_WORKSPACE_URL)
        workspace_source = ENV_WORKSPACE_URL
    if secret._value is None:
        secret = Token(_from_env(environ, ENV_TOKEN))

    missing = []
    if base_url is None and workspace_url is None:
        missing.append(
            f"the workspace: pass workspace_url= (e.g. 'example.spp.co') or set {ENV_WORKSPACE_URL}"
        )
    if secret._value is None:
        missing.append(f"the API token: pass token= or set {ENV_TOKEN}")
    if missing:
        raise ConfigurationError("Missing " + " and ".join(missing) + ".")

    if base_url is not None:
        root = _check_url(base_url, "base_url", append_api=False)
    else:
        assert workspace_url is not None
        root = _check_url(workspace_url, workspace_source, append_api=True)
    version: str | None
    if api_version:
        version, version_source = api_version, "api_version"
    else:
        version, version_source = _from_env(environ, ENV_API_VERSION), ENV_API_VERSION
    problem = _token_problem(secret._value)
    if problem is not None:
        raise ConfigurationError(problem)
    return ClientConfig(
        base_url=root,
        token=Token(_stripped(secret)),
        api_version=_check_api_version(version, version_source),
        timeout=check_timeout(timeout),
        max_retries=check_max_retries(max_retries),
        attempt_deadline=check_seconds(attempt_deadline, "attempt_deadline"),
        call_deadline=check_seconds(call_deadline, "call_deadline"),
        max_response_bytes=check_max_response_bytes(max_response_bytes),
    )


def _from_env(environ: Mapping[str, str] | None, name: str) -> str | None:
    # Never bind os.environ to a local of resolve_config: its repr holds the token.
    return (os.environ if environ is None else environ).get(name) or None


def _stripped(secret: Token) -> str:
    value = secret._value
    assert isinstance(value, str)
    return value.strip()


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
            raise ConfigurationError(  # the value is not shown: it may be a pasted token
                f"{name} must be a full URL with http:// or https://, e.g. 'http://127.0.0.1:4010'."
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
    if scheme == "http" and host.endswith(".") and is_loopback(host.rstrip(".")):
        raise ConfigurationError(
            f"{name} names {host!r} with a trailing dot: such a name is resolved by DNS, "
            "not from /etc/hosts, so it may not be this machine. Use localhost, 127.0.0.1 "
            "or [::1]."
        )
    if scheme == "http" and not (is_loopback(host) and is_loopback(httpx_host)):
        raise ConfigurationError(
            f"{name} uses plain http:// for {host!r}, which would send the token unencrypted. "
            "Use https:// (http:// is allowed only for 127.0.0.1, ::1 and localhost)."
        )
    return root


def is_loopback(host: str) -> bool:
    """True for localhost (exactly: no trailing dot), 127.0.0.0/8 and ::1.

    >>> is_loopback("LocalHost"), is_loopback("localhost."), is_loopback("127.0.0.9")
    (True, False, True)
    """
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # Python 3.13 counts IPv4-mapped IPv6 (::ffff:127.0.0.1) as loopback; 3.11 and 3.12 do
    # not. Refused on every version: not a plain loopback address.
    return address.is_loopback and getattr(address, "ipv4_mapped", None) is None


def _token_problem(token: object) -> str | None:
    """What is wrong with the token, or None. Returns instead of raising, so that the
    traceback of the error raised by the caller has no frame holding the token."""
    # Messages here never include the token's value.
    if not isinstance(token, str):
        return f"The API token must be a str, got {type(token).__name__}."
    token = token.strip()
    if not token:
        return f"The API token is empty: pass token= or set {ENV_TOKEN}."
    if token.lower().startswith("bearer "):
        return "Pass the API token without the 'Bearer ' prefix."
    if not token.isascii() or not token.isprintable() or " " in token:
        return (
            "The API token contains spaces, control or non-ASCII characters; "
            "copy it again from SPP (the value is not shown here)."
        )
    return None


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
            f"{phase}={describe_value(seconds)}"
            for phase, seconds in timeout.as_dict().items()
            if seconds is not None and not _is_seconds(seconds)
        ]
        if not bad:
            return timeout
        shown = ", ".join(bad)
    elif _is_seconds(timeout):
        return httpx.Timeout(float(timeout))
    else:
        shown = describe_value(timeout)
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
    """Validate a retry count: an int from 0 (no retries) to MAX_RETRIES."""
    if (
        isinstance(max_retries, int)
        and not isinstance(max_retries, bool)
        and 0 <= max_retries <= MAX_RETRIES
    ):
        return max_retries
    raise error(
        f"max_retries must be an int from 0 to {MAX_RETRIES}, got {describe_value(max_retries)}."
    )


#: The most retries a call may make: far beyond any deadline's worth of waits, and
#: small enough to print in "attempt N of M".
MAX_RETRIES = 1000
#: The largest reply cap accepted: 4 GiB.
MAX_REPLY_CAP = 4 * 1024**3

#: A call without options (the usual case): no per-call object to build or apply.
NO_OPTIONS: Final = RequestOptions()


def check_seconds(
    value: object, name: str, error: Callable[[str], SPPError] = ConfigurationError
) -> float:
    """Validate a deadline: positive seconds up to MAX_TIMEOUT."""
    if _is_seconds(value):
        return float(value)
    raise error(
        f"{name} must be a positive number of seconds up to {MAX_TIMEOUT:g}, "
        f"got {describe_value(value)}."
    )


def check_max_response_bytes(value: object) -> int:
    """Validate the reply size cap: an int from 1 to MAX_REPLY_CAP."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REPLY_CAP:
        return value
    raise ConfigurationError(
        f"max_response_bytes must be an int from 1 to {MAX_REPLY_CAP} (4 GiB), "
        f"got {describe_value(value)}."
    )


#: RFC 9110 field-name (a token); httpx breaks on others (a KeyError for "Ü") and h11
#: refuses them on the wire, after the retries.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Control characters other than tab; h11 refuses them in a value (CR and LF would split it).
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Headers that frame the message or the connection: httpx and h11 own them, and a wrong
#: one desynchronises the connection (or h11 refuses it after the headers went out).
#: Accept-Encoding too: the client decodes replies itself, within max_response_bytes.
FRAMING_HEADERS: Final = frozenset(
    {
        "accept-encoding",
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


#: Headers that describe the body: the client always writes plain JSON (UTF-8, not
#: compressed), so a header saying otherwise would make the server misread it.
BODY_HEADERS: Final = frozenset(
    {
        "content-digest",
        "content-encoding",
        "content-md5",
        "content-range",
        "content-type",
        "digest",
        "repr-digest",
    }
)


def check_extra_headers(extra_headers: object) -> ExtraHeaders:
    """Validate per-call headers: a mapping of RFC 9110 names to str (or None to remove
    a header), no line breaks, no header that frames the message or describes the body."""

    def invalid(message: str) -> InvalidInputError:
        return InvalidInputError(f"extra_headers: {message}", argument="extra_headers")

    if not isinstance(extra_headers, Mapping):
        raise invalid(
            f"must be a mapping of header names to values, got {type(extra_headers).__name__}."
        )
    checked: dict[str, str | None] = {}
    for name, value in extra_headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise invalid(f"invalid header name {name!r}.")
        if name.lower() in FRAMING_HEADERS:
            raise invalid(f"{name} is set by the client and cannot be changed per call.")
        if name.lower() in BODY_HEADERS:
            raise invalid(
                f"{name} describes the body, which the client always writes as plain JSON "
                "(application/json, UTF-8, not compressed); it cannot be changed per call."
            )
        if value is not None and (
            not isinstance(value, str) or _HEADER_VALUE_FORBIDDEN.search(value)
        ):
            raise invalid(
                f"the value for {name!r} must be None or a str without line breaks or "
                "other control characters."
            )
        checked[name] = value
    return checked


def request_options(options: RequestOptionsArgs) -> RequestOptions:
    """The RequestOptions for ``create``'s keyword arguments (NO_OPTIONS for none)."""
    return RequestOptions(**options) if options else NO_OPTIONS
