"""The package's logging, and ``SPP_LOG``: logging without code.

The client logs one line per attempt on the ``spp_activities`` logger (DEBUG, INFO
when it retries). Like ``OPENAI_LOG`` and ``STRIPE_LOG``, ``SPP_LOG=info`` or
``SPP_LOG=debug`` in the environment sends those lines to stderr with no code;
``debug`` also shows httpx's own request lines. No line holds the token: ours name
the method, path, status, time and reason; httpx's the method, URL and status.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["ENV_LOG", "logger", "setup_from_environment"]

ENV_LOG = "SPP_LOG"

logger = logging.getLogger("spp_activities")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_configured = False


def setup_from_environment() -> None:
    """Apply ``SPP_LOG`` once (later calls do nothing); unset or another value: no change."""
    global _configured
    if _configured:
        return
    _configured = True
    level = _LEVELS.get(os.environ.get(ENV_LOG, "").strip().lower())
    if level is None:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    names = ["spp_activities"] + (["httpx"] if level == logging.DEBUG else [])
    for name in names:
        named = logging.getLogger(name)
        named.addHandler(handler)
        named.setLevel(level)
