"""The watcher's log lines, as text and as JSON lines, on a clock the test sets."""

from __future__ import annotations

import datetime as dt
import io
import json

from modelops.watch.log import EventLog

WHEN = dt.datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)


def test_a_text_line_has_the_time_level_event_and_message():
    out = io.StringIO()
    EventLog(out, clock=lambda: WHEN).error("invalid", "models/faq.yaml:3:1: id: must be 'faq'")
    assert out.getvalue() == (
        "2025-03-04T05:06:07.890Z error   invalid: models/faq.yaml:3:1: id: must be 'faq'\n"
    )


def test_a_json_line_carries_the_fields_but_cannot_overwrite_the_time():
    out = io.StringIO()
    journal = EventLog(out, as_json=True, clock=lambda: WHEN)
    journal.info("reconciled", "local: 1 updated", target="local", updated=1, time="no")
    assert json.loads(out.getvalue()) == {
        "time": "2025-03-04T05:06:07.890Z",
        "level": "info",
        "event": "reconciled",
        "message": "local: 1 updated",
        "target": "local",
        "updated": 1,
    }
