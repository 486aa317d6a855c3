"""A small client for the Prometheus HTTP API: instant queries, alerts, targets, rules.

``make health``, the stack and the e2e tests read Prometheus the way an on-call engineer's
``curl`` does; this keeps the JSON handling (status, errorType, vectors) in one place. The same
API is served by VictoriaMetrics (``/api/v1/query``) and by vmalert (``/api/v1/alerts``,
``/api/v1/rules``), so the global view is read with it too.
"""

from __future__ import annotations

import math
from typing import Any

import httpx


class PromError(RuntimeError):
    """Prometheus answered an error (bad query) or did not answer."""


class PromAPI:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PromAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, **params: str) -> Any:
        try:
            r = self._client.get(self.base + path, params=params)
        except httpx.HTTPError as exc:
            raise PromError(f"{self.base}{path}: {type(exc).__name__}: {exc}") from None
        try:
            body = r.json()
        except ValueError:
            raise PromError(f"{self.base}{path}: HTTP {r.status_code}, not JSON") from None
        if body.get("status") != "success":
            raise PromError(f"{body.get('errorType', 'error')}: {body.get('error', r.text)}")
        return body["data"]

    def ready(self) -> bool:
        try:
            return self._client.get(self.base + "/-/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def query(self, expr: str, at: float | None = None, **params: str) -> list[dict[str, Any]]:
        """Instant vector (or scalar, as one unlabeled sample) of ``expr``, now or ``at``."""
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", query=expr, **params)
        if data["resultType"] == "vector":
            return list(data["result"])
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        raise PromError(f"{expr}: expected a vector, got {data['resultType']}")

    def samples(self, expr: str, at: float | None = None, **params: str
                ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """The raw samples of a range selector ``expr`` (``x[30s]``): (labels, [(t, v)])."""
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", query=expr, **params)
        if data["resultType"] != "matrix":
            raise PromError(f"{expr}: expected a matrix, got {data['resultType']}")
        return [(dict(s["metric"]), [(float(t), float(v)) for t, v in s["values"]])
                for s in data["result"]]

    def values(self, expr: str) -> list[float]:
        return [float(s["value"][1]) for s in self.query(expr)]

    def scalar(self, expr: str) -> float | None:
        """The single value of ``expr``; None when empty; an error when several."""
        vals = self.values(expr)
        if len(vals) > 1:
            raise PromError(f"{expr}: {len(vals)} series, expected one")
        return vals[0] if vals and not math.isnan(vals[0]) else None

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/alerts")["alerts"])

    def alert_states(self) -> dict[str, str]:
        """alertname -> ``firing`` if any instance fires, else ``pending``."""
        out: dict[str, str] = {}
        for a in self.alerts():
            name = a["labels"]["alertname"]
            if out.get(name) != "firing":
                out[name] = a["state"]
        return out

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets", state="active")["activeTargets"])

    def alertmanagers(self) -> list[str]:
        """The URLs of the Alertmanagers Prometheus sends to (``/api/v1/alertmanagers``)."""
        return [a["url"] for a in self._get("/api/v1/alertmanagers")["activeAlertmanagers"]]

    def rules(self) -> list[dict[str, Any]]:
        return [r for g in self._get("/api/v1/rules")["groups"] for r in g["rules"]]
