"""``slo-gen status``, the deploy gate and ``slo-gen serve`` against the e2e fleet's live
Prometheus 3.5, with the pages loaded in a real headless Chromium.

One fleet (two demo instances, the minutes-scale rules of ``orchestrator-e2e.yaml``, steady
traffic) goes through healthy traffic, a PMS outage and a stopped Prometheus, in that order.
At each stage the status JSON is checked against the recorded series queried directly at the
same instant, the gate's exit status against the stage, and the browser's view of the page
against the status JSON of the same instant (``?time=``). Screenshots go to the test's
temporary directory; ``SLO_DOCS_SCREENSHOTS=1`` also copies them to ``docs/`` for the README.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest

from demo import chaos, engines, procs
from slo.status.report import percent
from tests.e2e import browser
from tests.e2e.e2e_fleet import E2E_SPEC, ROOT, Fleet, spawn, wait_for, wait_tcp

pytestmark = pytest.mark.e2e

SLO = "orchestrator/requests-availability"
IDENT = '{slo_service="orchestrator",slo_name="requests-availability"}'
PAGE_ALERT = "OrchestratorRequestsAvailabilityErrorBudgetBurnPage"
TICKET_ALERT = "OrchestratorRequestsAvailabilityErrorBudgetBurnTicket"
RUNBOOK_ALERT = "OrchestratorErrorRateHigh"
DOCS_SHOTS = ("status-page-healthy.png", "status-page-outage.png")  # shown in the README
GATE = ("--fail-if", "budget_remaining < 0.2", "--fail-if", "pages_firing > 0")


def slo_gen(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI of this checkout, in its own process (as CI calls it)."""
    return subprocess.run([sys.executable, *procs.SLO_GEN, *args], capture_output=True,
                          text=True, timeout=60, check=False, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1"})


def status(fleet: Fleet, *args: str) -> tuple[int, dict[str, Any], str]:
    result = slo_gen("status", str(E2E_SPEC), "--prometheus", fleet.prom.base,
                     "--output", "json", *args)
    doc = json.loads(result.stdout) if result.stdout else {}
    return result.returncode, doc, result.stderr


def recorded(fleet: Fleet, expr: str, at: float) -> float | None:
    values = [float(s["value"][1]) for s in fleet.prom.query(expr, at=at)]
    assert len(values) <= 1, (expr, values)
    return values[0] if values else None


def assert_figures_are_the_recorded_series(fleet: Fleet, doc: dict[str, Any]) -> None:
    """Every figure equals its recorded series at the JSON's instant, to the last bit."""
    at = doc["time"]
    (row,) = doc["slos"]
    ratio = {w: recorded(fleet, f"slo:sli_error:ratio_rate{w}{IDENT}", at)
             for w in ("5m", "1h", "2m", "4m", "10m")}
    expected = {
        "budget_remaining": recorded(fleet, f"slo:period_error_budget_remaining:ratio{IDENT}",
                                     at),
        "budget_used": recorded(fleet, f"slo:period_burn_rate:ratio{IDENT}", at),
        "burn_rate": recorded(fleet, f"slo:current_burn_rate:ratio{IDENT}", at),
        "sli_5m": None if ratio["5m"] is None else 1 - ratio["5m"],
        "sli_period": None if ratio["1h"] is None else 1 - ratio["1h"],
        "burn_rates": {w: recorded(fleet, f"slo:sli_error:ratio_rate{w}{IDENT} / 0.005", at)
                       for w in ("2m", "4m", "10m")},
    }
    assert {k: row[k] for k in expected} == expected
    assert None not in (expected["budget_remaining"], expected["budget_used"],
                        expected["burn_rate"])


@pytest.fixture(scope="module")
def fleet(healthy_e2e_fleet: Fleet) -> Fleet:
    # the period ratio and the burn rates of every alert window exist once traffic has run
    def recorded_all() -> bool:
        doc = status(healthy_e2e_fleet)[1]
        # healthy: the time left is "never" (nothing burns), every other figure is there
        return bool(doc) and set(doc["slos"][0]["missing"]) == {"time_left_seconds"}

    wait_for("every figure recorded", recorded_all, timeout=90)
    return healthy_e2e_fleet


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Alertmanager 0.33 that inhibits the ticket while the runbook's page fires."""
    binary = engines.tools_env().get("ALERTMANAGER")
    if not binary or not Path(binary).exists():
        pytest.fail("Alertmanager not found: `make engines` puts 0.33 in .tools/")
    work = tmp_path_factory.mktemp("alertmanager")
    (work / "am.yml").write_text(f"""\
route: {{receiver: blackhole}}
receivers: [{{name: blackhole}}]
inhibit_rules:
  - source_matchers: ['alertname="{RUNBOOK_ALERT}"']
    target_matchers: ['alertname="{TICKET_ALERT}"']
""")
    port = procs.free_port()
    # Debian's build reads its default template from /usr/share/prometheus/alertmanager only:
    # a private mount namespace shows the unpacked one there to this process alone
    # (docs/engines.md, packaging notes)
    templates = Path(binary).parents[1] / "share" / "prometheus" / "alertmanager"
    script = ('mount -t tmpfs tmpfs /usr/share/prometheus && '
              'mkdir /usr/share/prometheus/alertmanager && '
              'mount --bind "$0" /usr/share/prometheus/alertmanager && exec "$@"')
    child = spawn("alertmanager", [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(templates),
        binary, f"--config.file={work / 'am.yml'}", f"--storage.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        work / "am.log")
    url = f"http://127.0.0.1:{port}"
    procs.wait_http(child, url + "/-/ready")
    yield url
    procs.stop(child, timeout=5)


def _post(url: str, body: object) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


@pytest.fixture(scope="module")
def page(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``slo-gen serve`` of this checkout on a free port, reading the fleet's Prometheus."""
    port = procs.free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    child = spawn("slo-gen serve", [sys.executable, *procs.SLO_GEN, "serve", str(E2E_SPEC),
                                    "--prometheus", fleet.prom.base,
                                    "--listen", f"127.0.0.1:{port}"], log)
    url = f"http://127.0.0.1:{port}"
    procs.wait_http(child, url + "/healthz")
    yield url
    procs.stop(child, timeout=5)


def look(url: str, shot: Path) -> list[browser.Element]:
    """What a person sees at ``url``: the rendered page's elements, and a screenshot of it
    that is not blank."""
    elements = browser.parse(browser.dom(url))
    browser.screenshot(url, shot)
    assert browser.pixel_variance(shot) > 200, f"{shot} looks blank"
    if os.environ.get("SLO_DOCS_SCREENSHOTS") and shot.name in DOCS_SHOTS:
        shutil.copy(shot, ROOT / "docs" / shot.name)
    return elements


def card_says(elements: list[browser.Element], row: dict[str, Any]) -> None:
    (card,) = browser.find(elements, "card", data_slo=SLO)
    (link,) = [e for e in elements if e.tag == "a" and e.text == SLO]
    assert link.attrs["href"] == "/slo/orchestrator/requests-availability"
    (remaining,) = browser.find(elements, "budget-remaining")
    assert remaining.text == percent(row["budget_remaining"])
    (used,) = browser.find(elements, "budget-used")
    assert used.text == percent(row["budget_used"])
    assert row["state"] in card.classes


def test_healthy_figures_and_the_gate(fleet: Fleet) -> None:
    code, doc, err = status(fleet, *GATE)
    assert (code, err) == (0, "")
    assert_figures_are_the_recorded_series(fleet, doc)
    (row,) = doc["slos"]
    assert row["pages_firing"] == 0 and row["decision"] is None and row["state"] == "ok"
    table = slo_gen("status", str(E2E_SPEC), "--prometheus", fleet.prom.base)
    assert table.returncode == 0 and "\x1b[" not in table.stdout  # no colour off a terminal
    assert table.stdout.splitlines()[2].startswith(SLO)


def test_healthy_page_in_a_browser(fleet: Fleet, page: str, tmp_path: Path) -> None:
    _, doc, _ = status(fleet)
    at = doc["time"]
    overview = look(f"{page}/?time={at}", tmp_path / "status-page-healthy.png")
    card_says(overview, doc["slos"][0])
    assert browser.find(overview, "alert") == []
    detail = look(f"{page}/slo/orchestrator/requests-availability?range=period&time={at}",
                  tmp_path / "status-page-detail-healthy.png")
    card_says(detail, doc["slos"][0])
    titles = [e.text for e in detail if e.tag == "h3"]
    assert titles == ["Error budget remaining, last 1h", "SLI over 5m, last 1h",
                      "Burn rate per window, last 1h"]
    assert len([e for e in detail if e.tag == "svg"]) == 3
    thresholds = [e.text for e in detail if e.tag == "text" and "at" in e.text]
    assert thresholds == ["page-4m: 4m/2m at 14.4x", "ticket-10m: 10m/2m at 1x"]
    queries = [e.text for e in detail if e.tag == "code"]
    assert f"slo:period_error_budget_remaining:ratio{IDENT}" in queries
    assert "UTC" in next(e.text for e in detail if e.attrs.get("id") == "updated")


def _firing(row: dict[str, Any]) -> set[str]:
    """Titles of the firing alerts: a burn-rate alert's tier in brackets."""
    return {f"{a['alertname']}[{a['tier']}]" if a["tier"] else a["alertname"]
            for a in row["alerts"] if a["state"] == "firing"}


PAGE_4M = f"{PAGE_ALERT}[page-4m]"
TICKET_10M = f"{TICKET_ALERT}[ticket-10m]"


def test_outage_trips_the_gate_and_pages_in_the_browser(
        fleet: Fleet, page: str, alertmanager: str, tmp_path: Path) -> None:
    chaos.inject(fleet.urls, fleet.token, {"dependency": "pms", "outage": True})
    try:
        def paging() -> bool:
            row = status(fleet)[1]["slos"][0]
            return ({PAGE_4M, TICKET_10M, RUNBOOK_ALERT} <= _firing(row)
                    and row["budget_remaining"] < 0.2)

        wait_for(f"{PAGE_4M}, {TICKET_10M} and {RUNBOOK_ALERT} firing, the budget below 20%",
                 paging, timeout=150)
        code, doc, err = status(fleet, *GATE)
        assert code == 1
        (row,) = doc["slos"]
        assert err.splitlines() == [
            f"fail: {SLO}: budget_remaining < 0.2 (it is {row['budget_remaining']:g})",
            f"fail: {SLO}: pages_firing > 0 (it is {row['pages_firing']:g})"]
        assert row["pages_firing"] == len({t for t in _firing(row) if t.startswith(
            (PAGE_ALERT, RUNBOOK_ALERT))})
        assert_figures_are_the_recorded_series(fleet, doc)
        assert row["decision"] == "escalate now (more than 80% of the error budget is spent)"
        assert row["state"] == "critical"

        at = doc["time"]
        overview = look(f"{page}/?time={at}", tmp_path / "status-page-outage.png")
        card_says(overview, row)
        # alerts are the API's current ones (it keeps no past): the page loads a moment after
        # the JSON, so only the outage's steady alerts are compared, each exactly as shown
        shown = {e.text for e in browser.find(overview, "alert") if "firing" in e.classes}
        assert {f"{PAGE_4M}: firing (page)", f"{RUNBOOK_ALERT}: firing (page)",
                f"{TICKET_10M}: firing"} <= shown, shown
        (alert,) = browser.find(overview, "alert", data_alert=PAGE_ALERT, data_tier="page-4m")
        assert "firing" in alert.classes and alert.text == f"{PAGE_4M}: firing (page)"
        (said,) = browser.find(overview, "decision")
        assert said.text == f"Runbook: {row['decision']}"
        look(f"{page}/slo/orchestrator/requests-availability?range=period&time={at}",
             tmp_path / "status-page-detail-outage.png")

        # Alertmanager: the page silenced, the ticket inhibited by the runbook's page
        labels = {(f"{a['alertname']}[{a['tier']}]" if a["tier"] else a["alertname"]):
                  a["labels"] for a in row["alerts"] if a["state"] == "firing"}
        posted = (PAGE_4M, TICKET_10M, RUNBOOK_ALERT)
        _post(f"{alertmanager}/api/v2/alerts", [{"labels": labels[t]} for t in posted])
        _post(f"{alertmanager}/api/v2/silences", {
            "matchers": [{"name": "alertname", "value": PAGE_ALERT, "isRegex": False}],
            "startsAt": "2000-01-01T00:00:00Z", "endsAt": "2999-01-01T00:00:00Z",
            "createdBy": "test", "comment": "deploy window"})

        def delivery() -> dict[str, str | None]:
            _, d, _ = status(fleet, "--alertmanager", alertmanager)
            return {f"{a['alertname']}[{a['tier']}]" if a["tier"] else a["alertname"]:
                    a["delivery"] for a in d["slos"][0]["alerts"]}

        wait_for("Alertmanager's verdicts", lambda: {t: delivery().get(t) for t in posted} == {
            PAGE_4M: "silenced", TICKET_10M: "inhibited", RUNBOOK_ALERT: "active"},
            timeout=30)
        table = slo_gen("status", str(E2E_SPEC), "--prometheus", fleet.prom.base,
                        "--alertmanager", alertmanager)
        assert f"{PAGE_4M} (firing, silenced)" in table.stdout
        assert f"{TICKET_10M} (firing, inhibited)" in table.stdout
    finally:
        chaos.clear(fleet.urls, fleet.token)


def test_serve_takes_the_exporters_web_config(fleet: Fleet, tmp_path: Path) -> None:
    """TLS and basic auth from the same web-config file the exporter reads: HTTPS only, 401
    without the password, the page with it, the configured headers on every answer."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    hashed = bcrypt.hashpw(b"on-call", bcrypt.gensalt(rounds=4)).decode()
    (tmp_path / "web.yml").write_text(
        "tls_server_config: {cert_file: cert.pem, key_file: key.pem, min_version: TLS13}\n"
        "http_server_config: {headers: {X-Frame-Options: deny}}\n"
        f"basic_auth_users: {{ops: '{hashed}'}}\n")
    port = procs.free_port()
    child = spawn("slo-gen serve tls", [
        sys.executable, *procs.SLO_GEN, "serve", str(E2E_SPEC), "--prometheus", fleet.prom.base,
        "--listen", f"127.0.0.1:{port}", "--web-config", str(tmp_path / "web.yml")],
        tmp_path / "serve.log")
    try:
        wait_tcp(child, port)
        url = f"https://127.0.0.1:{port}/"
        ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        with httpx.Client(verify=ctx, timeout=10, trust_env=False) as client:
            anonymous = client.get(url)
            wrong = client.get(url, auth=("ops", "guess"))
            right = client.get(url, auth=("ops", "on-call"))
        assert anonymous.status_code == wrong.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        assert right.status_code == 200 and f'data-slo="{SLO}"' in right.text
        assert {r.headers["x-frame-options"] for r in (anonymous, right)} == {"deny"}
        old = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        old.maximum_version = ssl.TLSVersion.TLSv1_2  # the config's min_version refuses it
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=old, timeout=10) as c:
            c.get(url, auth=("ops", "on-call"))
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5).raise_for_status()
    finally:
        procs.stop(child, timeout=5)


def test_colour_on_a_terminal_only_and_never_with_no_color(fleet: Fleet) -> None:
    def on_a_terminal(env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        proc = subprocess.Popen([sys.executable, *procs.SLO_GEN, "status", str(E2E_SPEC),
                                 "--prometheus", fleet.prom.base], stdout=follower,
                                stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=60)
        os.close(leader)
        return out.decode()

    plain = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = on_a_terminal(plain)
    assert re.search(r"\x1b\[3[123]m" + re.escape(SLO), coloured), coloured  # the row's state
    assert "\x1b[" not in on_a_terminal({**plain, "NO_COLOR": "1"})


def test_stopped_prometheus_is_exit_2_never_healthy(fleet: Fleet, page: str) -> None:
    procs.stop(fleet.prom_child, timeout=10)
    code, doc, err = status(fleet, *GATE)
    assert (code, doc) == (2, {})
    assert err.splitlines() == [
        f"error: {fleet.prom.base}/api/v1/alerts: cannot connect: Connection refused"]
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(page + "/", timeout=10)
    assert answer.value.code == 502
    body = answer.value.read().decode()
    assert "cannot connect: Connection refused" in body and "status is unknown" in body
