"""A minimal ASGI server for the benchmarks: a fixed 201 Activity, nothing else.

It exists so that the client's own cost shows in the per-call and throughput
figures: no validation, no storage, no framework, only uvicorn and a few bytes.
The bench runs it with uvicorn in a separate process (``python bench/fast_server.py
--port P``) so that it does not share the GIL with the client being measured.

Routes:
    POST /api/clients/{id}/activities   -> 201, the same Activity JSON every time
    GET  /_bench/health                 -> 200 (used to wait until it is ready)
    anything else                       -> 404
"""

from __future__ import annotations

import argparse
import json
from typing import Any

API_VERSION = "2024-03-05"

# The vendor page's example reply, serialised once at import time.
ACTIVITY_BODY = json.dumps(
    {
        "id": 1,
        "content": "Client called to discuss project requirements.",
        "created_at": "2025-12-19T10:00:00.000000Z",
        "updated_at": "2025-12-19T10:00:00.000000Z",
        "author": {"id": 456, "name": "John Doe", "email": "john@example.com"},
    },
    separators=(",", ":"),
).encode()
NOT_FOUND_BODY = b'{"message":"Not found."}'

_JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-api-version", API_VERSION.encode()),
]
_CREATED_START = {
    "type": "http.response.start",
    "status": 201,
    "headers": [*_JSON_HEADERS, (b"content-length", str(len(ACTIVITY_BODY)).encode())],
}
_CREATED_BODY = {"type": "http.response.body", "body": ACTIVITY_BODY}
_PREFIX = "/api/clients/"
_SUFFIX = "/activities"


def _is_create_path(path: str) -> bool:
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return False
    client_id = path[len(_PREFIX) : -len(_SUFFIX)]
    return client_id.isdigit()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI application (HTTP only; lifespan is switched off by the runner)."""
    if scope["type"] != "http":
        return
    # Read the whole request body so that keep-alive stays clean.
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)

    method = scope["method"]
    path = scope["path"]
    if method == "POST" and _is_create_path(path):
        await send(_CREATED_START)
        await send(_CREATED_BODY)
        return
    if method == "GET" and path == "/_bench/health":
        status, body = 200, b'{"ok":true}'
    else:
        status, body = 404, NOT_FOUND_BODY
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    import uvicorn

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        # Plenty of keep-alive so that no benchmark pays for reconnects.
        timeout_keep_alive=60,
        backlog=1024,
    )


if __name__ == "__main__":
    main()
