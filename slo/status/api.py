"""A small client of the Prometheus HTTP API (instant and range queries, alerts) and of
Alertmanager's API v2 (``/api/v2/alerts``), on the standard library alone.

Every failure is an :class:`Unavailable` with one line saying what was asked and what came
back: a refused connection, a timeout, an HTTP error, an answer that is not the API's JSON
(a web page at the wrong URL). ``slo-gen status`` turns it into exit status 2, so a gate never
reads "could not ask" as "healthy".
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT = 10.0


class Unavailable(Exception):
    """The API could not be asked, or did not answer as the API does."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]  # (unix seconds, value), NaN dropped


@dataclass(frozen=True)
class PromAlert:
    labels: dict[str, str]
    state: str  # "firing" or "pending"
    active_at: str


@dataclass(frozen=True)
class AMAlert:
    labels: dict[str, str]
    state: str  # "active", "suppressed" or "unprocessed"
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]

    @property
    def delivery(self) -> str:
        """What a person reading the status should call it."""
        if self.silenced_by:
            return "silenced"
        if self.inhibited_by:
            return "inhibited"
        return self.state


def check_url(base: str, option: str) -> str:
    """An API base URL as given on the command line: http(s)://host[:port][/prefix]."""
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unavailable(f"{option} {base!r}: not an http:// or https:// URL with a host "
                          "(e.g. http://127.0.0.1:9090)")
    return base.rstrip("/")


def _get(base: str, path: str, params: dict[str, str] | None = None) -> Any:
    url = base.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    shown = base.rstrip("/") + path
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        decoded = _json(body)
        if isinstance(decoded, dict) and "error" in decoded:
            raise Unavailable(f"{shown}: HTTP {exc.code}: {decoded.get('errorType', 'error')}: "
                              f"{decoded['error']}") from None
        raise Unavailable(f"{shown}: HTTP {exc.code} {exc.reason}: not a Prometheus API "
                          "(check the URL)") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise Unavailable(f"{shown}: cannot connect: {text}") from None
    except TimeoutError:
        raise Unavailable(f"{shown}: no answer within {TIMEOUT:g}s") from None
    except (OSError, ValueError) as exc:
        raise Unavailable(f"{shown}: {exc}") from None
    decoded = _json(body)
    if decoded is None:
        raise Unavailable(f"{shown}: the answer is not JSON: not a Prometheus API "
                          "(check the URL)")
    return decoded


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class PrometheusAPI:
    """``/api/v1/query``, ``/api/v1/query_range`` and ``/api/v1/alerts`` of one base URL."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def _data(self, path: str, params: dict[str, str] | None = None) -> Any:
        body = _get(self.base, path, params)
        if not isinstance(body, dict) or "status" not in body:
            raise Unavailable(f"{self.base}{path}: JSON without a 'status': not a Prometheus "
                              "API (check the URL)")
        if body["status"] != "success":
            raise Unavailable(f"{self.base}{path}: {body.get('errorType', 'error')}: "
                              f"{body.get('error', 'no error message')}")
        return body.get("data")

    def query(self, expr: str, at: float) -> list[Sample]:
        data = self._data("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise Unavailable(f"{self.base}/api/v1/query: {expr}: expected a vector")
        out = []
        for s in data["result"]:
            value = float(s["value"][1])
            if not math.isnan(value):
                out.append(Sample(dict(s["metric"]), value))
        return out

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        data = self._data("/api/v1/query_range", {
            "query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"})
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise Unavailable(f"{self.base}/api/v1/query_range: {expr}: expected a matrix")
        return [Series(dict(s["metric"]),
                       tuple((float(t), float(v)) for t, v in s["values"]
                             if not math.isnan(float(v))))
                for s in data["result"]]

    def alerts(self) -> list[PromAlert]:
        data = self._data("/api/v1/alerts")
        if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
            raise Unavailable(f"{self.base}/api/v1/alerts: no alert list in the answer")
        return [PromAlert(dict(a["labels"]), str(a["state"]), str(a.get("activeAt", "")))
                for a in data["alerts"]]


def alertmanager_alerts(base_url: str) -> list[AMAlert]:
    """Every alert Alertmanager holds (``/api/v2/alerts``), silenced and inhibited included."""
    body = _get(base_url, "/api/v2/alerts")
    if not isinstance(body, list):
        raise Unavailable(f"{base_url.rstrip('/')}/api/v2/alerts: expected a list of alerts: "
                          "not an Alertmanager API v2 (check the URL)")
    out = []
    for a in body:
        status = a.get("status", {})
        out.append(AMAlert(dict(a.get("labels", {})), str(status.get("state", "")),
                           tuple(status.get("silencedBy") or ()),
                           tuple(status.get("inhibitedBy") or ())))
    return out
