"""`spp-activities demo`: with nothing configured it creates an activity and shows a handled 404."""

from __future__ import annotations

import io
import json
import re
import threading

from spp_activities.cli import demo


def test_demo_creates_an_activity_shows_a_handled_404_and_exits_0() -> None:
    threads_before = set(threading.enumerate())
    out = io.StringIO()
    assert demo.run(out) == 0
    text = out.getvalue()

    assert re.search(r"^Started a local SPP sandbox at http://127\.0\.0\.1:\d+ ", text, re.M)
    assert "Created activity #1 on client 1's timeline" in text
    # The activity's JSON, as the client returned it, is printed in full.
    start = text.index("{")
    activity, _ = json.JSONDecoder().raw_decode(text[start:])
    assert activity["id"] == 1
    assert activity["content"] == demo.DEMO_CONTENT
    assert activity["author"] == {"id": 1, "name": "Sandbox User", "email": "sandbox@example.com"}
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", activity["created_at"])
    # The handled error, as a user sees it.
    assert "NotFoundError: 404 Not Found: Client not found." in text
    assert "may_have_been_created = False" in text
    assert "sandbox-token" not in text
    # Everything it started is gone.
    assert set(threading.enumerate()) <= threads_before
