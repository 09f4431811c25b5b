"""The local sandbox: a stand-in for SPP's create-activity API that follows openapi.yaml.

from spp_activities.sandbox import Sandbox

with Sandbox() as sandbox:
    ...  # point SPPClient(sandbox.workspace_url, sandbox.token) at it
"""

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
