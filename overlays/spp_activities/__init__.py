"""spp_activities: a client for Service Provider Pro's client-activity API.

>>> from spp_activities import SPPClient
>>> with SPPClient() as client:  # doctest: +SKIP
...     activity = client.activities.create(1, "Client called about the invoice.")

The client reads ``SPP_WORKSPACE_URL`` and ``SPP_API_TOKEN`` unless given
``workspace_url=`` and ``token=``. Errors are in :mod:`spp_activities.errors`,
the retry policy in :mod:`spp_activities.retry`.

The public names below are imported on first use (PEP 562), so that
``import spp_activities.cli`` -- and with it ``spp-activities --help`` -- does
not pay for httpx and the generated package before it needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from spp_api.models import Activity, Author

    from .client import AsyncSPPClient, RawResponse, SPPClient
    from .config import __version__
    from .errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        InvalidInputError,
        InvalidResponseError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        SPPError,
        UnprocessableEntityError,
    )
    from .retry import RetryPolicy

#: Where the public names that are not errors live; every other name in
#: ``__all__`` is an error class from ``spp_activities.errors``.
_SOURCES: dict[str, str] = {
    "Activity": "spp_api.models",
    "Author": "spp_api.models",
    "AsyncSPPClient": "spp_activities.client",
    "RawResponse": "spp_activities.client",
    "SPPClient": "spp_activities.client",
    "RetryPolicy": "spp_activities.retry",
    "__version__": "spp_activities.config",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Activity",
    "AsyncSPPClient",
    "AuthenticationError",
    "Author",
    "BadRequestError",
    "ConfigurationError",
    "InvalidInputError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RetryPolicy",
    "SPPClient",
    "SPPError",
    "ServerError",
    "UnprocessableEntityError",
    "__version__",
]


__getattr__, __dir__ = _lazy_exports(
    globals(), {name: _SOURCES.get(name, "spp_activities.errors") for name in __all__}
)
