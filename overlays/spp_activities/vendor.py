"""What SPP's API fixes and every layer shares: the default ``X-Api-Version`` and the
timestamp format. Import-free, so the command line and the sandbox can use it cheaply."""

from __future__ import annotations

import datetime

#: The ``X-Api-Version`` sent unless told otherwise, and echoed by the sandbox.
DEFAULT_API_VERSION = "2024-03-05"

#: The API's timestamps: UTC with microseconds, e.g. ``2025-12-19T10:00:00.000000Z``.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def vendor_timestamp(moment: datetime.datetime) -> str:
    """``moment`` written as the API writes timestamps (``2025-12-19T10:00:00.000000Z``)."""
    return moment.astimezone(datetime.UTC).strftime(TIMESTAMP_FORMAT)
