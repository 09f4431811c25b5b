"""The local sandbox: a stand-in for SPP's create-activity API that follows openapi.yaml.

from spp_activities.sandbox import Sandbox

with Sandbox() as sandbox:
    ...  # point SPPClient(sandbox.workspace_url, sandbox.token) at it

The public names below are imported on first use (PEP 562), like the package's own: the
pytest plugin (`spp_activities.sandbox.pytest_plugin`) is loaded into every test session of
a user who installed the `sandbox` extra, and must not pay for Starlette, uvicorn and
openapi-core in sessions that never start a sandbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spp_activities._lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from spp_activities.sandbox.app import MAX_BODY_BYTES
    from spp_activities.sandbox.faults import FaultPlan
    from spp_activities.sandbox.options import (
        DEFAULT_SLOW_SECONDS,
        DEFAULT_TOKEN,
        FAULT_KINDS,
        ClientIds,
        SandboxOptionError,
        SandboxOptions,
        parse_clients,
        parse_faults,
    )
    from spp_activities.sandbox.server import Sandbox, serve

#: Where each public name lives.
_SOURCES: dict[str, str] = {
    "MAX_BODY_BYTES": "spp_activities.sandbox.app",
    "FaultPlan": "spp_activities.sandbox.faults",
    "FAULT_KINDS": "spp_activities.sandbox.options",
    "ClientIds": "spp_activities.sandbox.options",
    "SandboxOptionError": "spp_activities.sandbox.options",
    "SandboxOptions": "spp_activities.sandbox.options",
    "parse_clients": "spp_activities.sandbox.options",
    "parse_faults": "spp_activities.sandbox.options",
    "DEFAULT_SLOW_SECONDS": "spp_activities.sandbox.options",
    "DEFAULT_TOKEN": "spp_activities.sandbox.options",
    "Sandbox": "spp_activities.sandbox.server",
    "serve": "spp_activities.sandbox.server",
}

__all__ = [
    "DEFAULT_SLOW_SECONDS",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "MAX_BODY_BYTES",
    "ClientIds",
    "FaultPlan",
    "Sandbox",
    "SandboxOptionError",
    "SandboxOptions",
    "parse_clients",
    "parse_faults",
    "serve",
]


__getattr__, __dir__ = _lazy_exports(globals(), _SOURCES)
