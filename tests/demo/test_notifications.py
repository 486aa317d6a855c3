"""The demo's webhook receiver in-process: what it logs and serves, and what it refuses (4xx).

The payloads are Alertmanager's webhook format (version 4) as 0.33 posts it; the e2e tests
(tests/e2e/test_e2e_alerts.py) have a real Alertmanager post to the real process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from demo import notifications
from demo.notifications import AlertLine, Notification, Recorder, create_app, parse, read_log
from demo.validation import Invalid

PAGE = {"alertname": "OrchestratorRequestsAvailabilityErrorBudgetBurnPage", "severity": "page",
        "slo_service": "orchestrator", "slo_name": "requests-availability",
        "slo_tier": "page-outage"}


def payload(receiver: str = "page", status: str = "firing", **extra: Any) -> dict[str, Any]:
    return {
        "version": "4", "groupKey": '{}/{severity="page"}:{slo_name="requests-availability"}',
        "truncatedAlerts": 0, "status": status, "receiver": receiver,
        "groupLabels": {"slo_service": "orchestrator", "slo_name": "requests-availability"},
        "commonLabels": PAGE, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{"status": status, "labels": PAGE,
                    "annotations": {"summary": "Burning budget fast", "runbook_url": "x"},
                    "startsAt": "2026-12-02T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": "abc"}],
        **extra,
    }


NOW = dt.datetime(2026, 12, 2, 10, 1, 2, 345000, tzinfo=dt.UTC)


def test_parse_keeps_what_an_on_call_reads() -> None:
    labels = {k: v for k, v in PAGE.items() if k != "alertname"}
    assert parse(payload(), NOW) == Notification(
        "2026-12-02T10:01:02.345Z", "page", "firing",
        {"slo_name": "requests-availability", "slo_service": "orchestrator"},
        [AlertLine(PAGE["alertname"], "firing", labels, "Burning budget fast")])


@pytest.mark.parametrize(("body", "problems"), [
    ([], [("body", "must be a JSON object (an Alertmanager notification)")]),
    ({}, [("receiver", "must be a non-empty string"),
          ("status", "must be one of firing, resolved"), ("alerts", "must be a non-empty list")]),
    ({**payload(), "status": "pending", "receiver": 3},
     [("receiver", "must be a non-empty string"), ("status", "must be one of firing, resolved")]),
    ({**payload(), "alerts": [1, {"status": "firing", "labels": {"a": 1}},
                              {"status": "x", "labels": {"severity": "page"}}]},
     [("alerts[0]", "must be an object"),
      ("alerts[1].labels", "must be an object of string label values"),
      ("alerts[2].labels.alertname", "missing"),
      ("alerts[2].status", "must be one of firing, resolved")]),
    ({**payload(), "groupLabels": []},
     [("groupLabels", "must be an object of string label values")]),
])
def test_parse_names_every_bad_field(body: Any, problems: list[tuple[str, str]]) -> None:
    with pytest.raises(Invalid) as err:
        parse(body)
    assert err.value.problems == problems


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=3)
                    | st.dictionaries(st.sampled_from(["receiver", "status", "alerts",
                                                       "labels", "alertname", "groupLabels"]),
                                      kids, max_size=4), max_leaves=12))
def test_parse_accepts_or_names_a_problem(body: Any) -> None:
    """Any JSON value is either a notification or a list of problems, never a crash."""
    try:
        note = parse(body)
    except Invalid as exc:
        assert exc.problems
    else:
        assert note.status in notifications.STATUSES and note.alerts


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://recv") as client:
            return await client.request(method, path, **kwargs)
    return asyncio.run(go())


def test_notifications_are_logged_one_json_line_each_and_served(tmp_path: Path) -> None:
    log = tmp_path / "var" / "notifications.log"
    app = create_app(Recorder(log))
    assert call(app, "POST", "/notify/page", json=payload()).status_code == 200
    assert call(app, "POST", "/notify", json=payload("ticket", "resolved")).status_code == 200
    lines = log.read_text().splitlines()
    assert [json.loads(line)["receiver"] for line in lines] == ["page", "ticket"]
    assert [(n.receiver, n.status, n.firing(), n.resolved()) for n in read_log(log)] == [
        ("page", "firing", [PAGE["alertname"] + "/page-outage"], []),
        ("ticket", "resolved", [], [PAGE["alertname"] + "/page-outage"])]
    served = call(app, "GET", "/notifications").json()
    assert [n["receiver"] for n in served["notifications"]] == ["page", "ticket"]
    assert served["notifications"] == [n.to_json() for n in read_log(log)]
    only = call(app, "GET", "/notifications?receiver=ticket&limit=5").json()["notifications"]
    assert [n["receiver"] for n in only] == ["ticket"]


def test_bad_requests_get_4xx_and_are_not_logged(tmp_path: Path) -> None:
    log = tmp_path / "notifications.log"
    app = create_app(Recorder(log))
    big = b'{"x": "' + b"a" * notifications.MAX_BODY + b'"}'
    answers = [
        call(app, "POST", "/notify/page", content=big).status_code,
        call(app, "POST", "/notify/page", content=b"not json").status_code,
        call(app, "POST", "/notify/page", json={"receiver": "page"}).status_code,
        call(app, "POST", "/notify/ticket", json=payload("page")).status_code,
        call(app, "GET", "/notifications?limit=x").status_code,
        call(app, "GET", "/notify/page").status_code,
    ]
    assert answers == [413, 422, 422, 422, 422, 405]
    wrong = call(app, "POST", "/notify/ticket", json=payload("page")).json()
    assert wrong["problems"] == [{"field": "receiver", "message":
                                  "the URL names receiver 'ticket', the body 'page'"}]
    assert not log.exists() or log.read_text() == ""
    assert read_log(log) == []


def test_the_endpoint_keeps_the_last_ones(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "n.log", keep=2)
    for receiver in ("a", "b", "c"):
        recorder.record(parse(payload(receiver)))
    assert [n.receiver for n in recorder.last()] == ["b", "c"]
    assert [n.receiver for n in recorder.last(limit=1)] == ["c"]
    assert [n.receiver for n in read_log(tmp_path / "n.log")] == ["a", "b", "c"]


def test_describe_is_one_terminal_line() -> None:
    note = parse(payload(), NOW)
    assert notifications.describe(note) == (
        "10:01:02Z page: firing: firing "
        "OrchestratorRequestsAvailabilityErrorBudgetBurnPage/page-outage")
