"""spp_activities: a client for Service Provider Pro's client-activity API.

>>> from spp_activities import SPPClient
>>> with SPPClient() as client:  # doctest: +SKIP
...     activity = client.activities.create(1, "Client called about the invoice.")

The client reads ``SPP_WORKSPACE_URL`` and ``SPP_API_TOKEN`` unless given
``workspace_url=`` and ``token=``. Errors are in :mod:`spp_activities.errors`,
the retry policy in :mod:`spp_activities.retry`.
"""

from spp_api.models import Activity, Author

from .client import AsyncSPPClient, RawResponse, SPPClient
from .config import __version__
from .errors import (
    APIConnectionError,
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

__all__ = [
    "APIConnectionError",
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
