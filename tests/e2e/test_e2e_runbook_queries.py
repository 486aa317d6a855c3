"""Every runbook query in docs/runbook-queries.md, on a live Prometheus with the shipped rules.

The table is parsed from the doc, so the doc cannot drift from what Prometheus answers: each
"form that works" must return data (for a filter like ``x > 100``: its left-hand side must,
and the filter must be accepted), and each "valid as written" claim is checked by sending the
query exactly as the runbook writes it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from demo.promapi import PromError
from tests.e2e.e2e_fleet import ROOT, Fleet, render, wait_for

pytestmark = pytest.mark.e2e

DOC = ROOT / "docs" / "runbook-queries.md"
FILTER = re.compile(r"^(?P<lhs>.+?)\s*(?:>=|<=|==|!=|>|<)\s*-?[0-9.]+$")


@dataclass(frozen=True)
class Row:
    number: str
    as_written: str
    valid: bool
    working: str
    api: str


def _code(cell: str) -> str:
    m = re.search(r"`([^`]+)`", cell)
    assert m, f"no `query` in table cell {cell!r}"
    return m.group(1)


def parse_table(path: Path = DOC) -> list[Row]:
    """The rows of the table whose header has "Form that works"."""
    rows: list[Row] = []
    header: list[str] | None = None
    for line in path.read_text().splitlines():
        if not line.startswith("|"):
            header = None if rows else header
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set(line) <= set("|-: "):
            continue
        col = dict(zip(header, cells, strict=True))
        rows.append(Row(col["#"], _code(col["query as written"]),
                        not col["valid as written"].lower().startswith("no"),
                        _code(col["form that works"]), col["api"]))
    return rows


ROWS = parse_table()


def test_table_covers_the_runbook() -> None:
    """Every query the runbook sends to /api/v1/query appears in the table."""
    runbook = Path("/work/shared/runbook/ORCHESTRATOR_HIGH_ERROR_RATE.md")
    if not runbook.exists():
        pytest.skip("the runbook is not at its shared path on this machine")
    sent = set(re.findall(r'query(?:_range)?\?query=([^"&]+)', runbook.read_text()))
    written = {r.as_written for r in ROWS}
    assert sent <= written, f"runbook queries missing from the doc: {sent - written}"
    assert len(ROWS) >= 20


@pytest.fixture(scope="module")
def fleet(fleet_factory, default_rules) -> Fleet:
    fleet = fleet_factory(default_rules, ["--fault", "gmail:error_rate=0.3"])
    fleet.traffic(rate=30, duration=300)
    wait_for("a success rate", lambda: fleet.prom.query("orchestrator_success_rate_5m"),
             timeout=60)
    return fleet


def _data(fleet: Fleet, row: Row, expr: str) -> list:
    if row.api == "query_range":
        end = time.time()
        data = fleet.prom._get("/api/v1/query_range", query=expr, start=str(end - 7200),
                               end=str(end), step="60")
        return list(data["result"])
    return fleet.prom.query(expr)


@pytest.mark.parametrize("row", ROWS, ids=[f"row{r.number}" for r in ROWS])
def test_working_form_returns_data(fleet: Fleet, row: Row) -> None:
    m = FILTER.match(row.working)
    probe = m.group("lhs") if m else row.working
    if m:
        _data(fleet, row, row.working)  # the filter itself is accepted (may be empty)
    result = wait_for(f"data from {probe!r}", lambda: _data(fleet, row, probe), timeout=45)
    assert result


@pytest.mark.parametrize("row", ROWS, ids=[f"row{r.number}" for r in ROWS])
def test_valid_as_written_is_true(fleet: Fleet, row: Row) -> None:
    if row.valid:
        _data(fleet, row, row.as_written)
    else:
        with pytest.raises(PromError, match="bad_data"):
            _data(fleet, row, row.as_written)


def test_escalation_threshold_is_budget_consumed(fleet: Fleet) -> None:
    """``orchestrator_error_budget_used_ratio_30m`` is 1 - budget remaining (doc's claim)."""
    used = fleet.prom.scalar("orchestrator_error_budget_used_ratio_30m")
    remaining = fleet.prom.scalar("slo:period_error_budget_remaining:ratio")
    assert used is not None and remaining is not None
    assert used == pytest.approx(1 - remaining, abs=1e-6)


LATENCY_SPEC = """\
apiVersion: slo-gen/v1
service: orchestrator
slos:
  - name: latency
    objective: 99
    period: 1h
    sli:
      latency: {histogram: http_request_duration_seconds, le: 1}
    alerting:
      runbook_url: https://runbooks.example.internal/ORCHESTRATOR_HIGH_ERROR_RATE.md
      windows: [{severity: page, long: 4m, short: 2m, factor: 14.4}]
"""


def test_bucket_selector_finds_the_stored_bucket(fleet: Fleet, tmp_path: Path) -> None:
    """The runbook's latency query reads ``le`` buckets, and a latency SLI selects one by its
    ``le`` value. Prometheus 3 normalises ``le`` on scrape (``1`` is stored as ``1.0``), 2.x
    stores the exposed text: the exporter writes prometheus_client's spelling, which is the
    normalised one, so the stored values are the exposed ones on either engine, and the
    bucket selector the generator renders for a spec's ``le: 1`` finds exactly that bucket."""
    exposed = set(re.findall(r'^http_request_duration_seconds_bucket\{[^}]*le="([^"]+)"',
                             httpx.get(f"http://{fleet.instances[0].target}/metrics").text,
                             re.MULTILINE))
    assert {"1.0", "+Inf"} <= exposed and "1" not in exposed, exposed
    stored = {s["metric"]["le"] for s in fleet.prom.query(
        "count by (le) (http_request_duration_seconds_bucket)")}
    assert stored == exposed

    spec = tmp_path / "latency.yaml"
    spec.write_text(LATENCY_SPEC)
    exprs = [r["expr"] for g in yaml.safe_load(render(spec, tmp_path / "out")[0].read_text())[
        "groups"] for r in g["rules"]]
    selectors = {m for e in exprs
                 for m in re.findall(r"http_request_duration_seconds_bucket\{[^}]*\}", e)}
    assert len(selectors) == 1, selectors
    (selector,) = selectors
    found = fleet.prom.query(selector)
    assert {s["metric"]["le"] for s in found} == {"1.0"}, (selector, found)
    assert len(found) == len(fleet.prom.query('http_request_duration_seconds_bucket{le="1.0"}'))
    assert fleet.prom.query('http_request_duration_seconds_bucket{le="1"}') == []
