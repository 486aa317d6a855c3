"""``slo-gen status`` and ``serve`` on bad input: one clear line, a non-zero exit, no traceback.

The live figures are proven against a real Prometheus in ``tests/e2e/test_e2e_status.py``;
here are the mistakes a user or a CI script makes, the condition grammar (hypothesis), the
spec's ``decisions:`` and the charts' geometry.
"""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from demo import procs
from slo.cli import main
from slo.model.conditions import FIXED_FIELDS, ConditionError, parse_condition
from slo.readers.load import load_default
from slo.serve.charts import Line, Threshold, chart
from tests.specs import valid, write


@pytest.fixture
def web_page() -> Iterator[str]:
    """A web server that is not Prometheus: an HTML page at every path, 200 or 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.startswith("/ok")
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>a shop</body></html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _status(cli, *args: str):
    return cli.invoke(main, ["status", *args])


def test_unreachable_url_is_exit_2_one_line(cli) -> None:
    url = f"http://127.0.0.1:{procs.free_port()}"
    result = _status(cli, "--prometheus", url, "--fail-if", "budget_remaining < 0.2")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {url}/api/v1/alerts: cannot connect: Connection refused\n"


@pytest.mark.parametrize("url", ["localhost:9090", "http://", "ftp://127.0.0.1/"])
def test_a_url_that_is_not_http_is_one_line(cli, url: str) -> None:
    result = _status(cli, "--prometheus", url)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: --prometheus {url!r}: not an http:// or https:// URL "
                             "with a host (e.g. http://127.0.0.1:9090)\n")
    result = cli.invoke(main, ["serve", "--prometheus", url])
    assert result.exit_code == 1
    assert result.stderr == (f"error: --prometheus {url!r}: not an http:// or https:// URL "
                             "with a host (e.g. http://127.0.0.1:9090)\n")


def test_a_web_page_is_not_a_prometheus(cli, web_page: str) -> None:
    result = _status(cli, "--prometheus", web_page + "/ok")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: {web_page}/ok/api/v1/alerts: the answer is not JSON: "
                             "not a Prometheus API (check the URL)\n")
    result = _status(cli, "--prometheus", web_page)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: {web_page}/api/v1/alerts: HTTP 404 Not Found: not a "
                             "Prometheus API (check the URL)\n")


def test_an_alertmanager_url_that_is_not_one(cli, web_page: str) -> None:
    result = _status(cli, "--prometheus", web_page, "--alertmanager", web_page + "/ok")
    assert result.exit_code == 2
    assert result.stderr == (f"error: {web_page}/ok/api/v2/alerts: the answer is not JSON: "
                             "not a Prometheus API (check the URL)\n")


def test_a_spec_with_no_slos(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["slos"] = []
    spec = write(tmp_path / "empty.yaml", doc)
    result = _status(cli, spec, "--prometheus", "http://127.0.0.1:9")
    assert (result.exit_code, result.stdout) == (2, "")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: {spec}: ") and "slos" in result.stderr


@pytest.mark.parametrize(("condition", "message"), [
    ("budget_remaining < x", "'budget_remaining < x' is not FIELD OP NUMBER, e.g. "
     "'budget_remaining < 0.2' (OP: < <= > >= == !=)"),
    ("budget_remaining", "'budget_remaining' is not FIELD OP NUMBER, e.g. "
     "'budget_remaining < 0.2' (OP: < <= > >= == !=)"),
    ("budget_remaining =< 0.2", "'budget_remaining =< 0.2' is not FIELD OP NUMBER, e.g. "
     "'budget_remaining < 0.2' (OP: < <= > >= == !=)"),
    ("budget < 0.2", "'budget < 0.2': unknown field 'budget' (one of budget_remaining, "
     "budget_used, burn_rate, sli_5m, sli_period, pages_firing, burn_rate_<window>)"),
    ("burn_rate_7h > 2", "'burn_rate_7h > 2': no SLO has the field 'burn_rate_7h' (known: "
     "budget_remaining, budget_used, burn_rate, burn_rate_1d, burn_rate_1h, burn_rate_2h, "
     "burn_rate_2m, burn_rate_3d, burn_rate_5m, burn_rate_6h, pages_firing, sli_5m, sli_period)"),
])
def test_malformed_fail_if_is_one_line_before_asking(cli, condition: str, message: str
                                                     ) -> None:
    url = f"http://127.0.0.1:{procs.free_port()}"  # never asked: the input is checked first
    result = _status(cli, "--prometheus", url, "--fail-if", "pages_firing > 0",
                     "--fail-if", condition)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: --fail-if {message}\n"


def test_serve_refuses_bad_input_before_listening(tmp_path: Path, cli) -> None:
    bad = tmp_path / "web.yml"
    bad.write_text("basic_auth_users: {ops: plain-text}\n")
    result = cli.invoke(main, ["serve", "--prometheus", "http://127.0.0.1:9",
                               "--web-config", str(bad)])
    assert result.exit_code == 1
    assert result.stderr == (f"error: {bad}: basic_auth_users.ops: expected a bcrypt hash "
                             "($2a$, $2b$ or $2y$), e.g. from: htpasswd -nBC 10 '' | tr -d "
                             "':\\n'\n")
    result = cli.invoke(main, ["serve", "--prometheus", "http://127.0.0.1:9",
                               "--listen", "localhost"])
    assert result.exit_code == 1
    assert result.stderr == ("error: --listen: listen address 'localhost' must be HOST:PORT, "
                             "e.g. 127.0.0.1:9464\n")


NUMBERS = st.decimals(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False,
                      places=4)


@given(field=st.sampled_from([*FIXED_FIELDS, "burn_rate_1h", "burn_rate_30m"]),
       op=st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), number=NUMBERS,
       spaces=st.sampled_from(["", " ", "  "]), value=st.floats(-2000, 2000))
def test_conditions_parse_and_compare_like_python(field: str, op: str, number, spaces: str,
                                                  value: float) -> None:
    text = f"{field}{spaces}{op}{spaces}{number}"
    c = parse_condition(text)
    assert (c.field, c.op, c.number, c.text) == (field, op, float(number),
                                                 f"{field} {op} {number}")
    assert c.holds(value) == eval(f"{value!r} {op} {float(number)!r}")


@given(st.text(max_size=30))
def test_anything_else_is_a_condition_error_not_a_crash(text: str) -> None:
    try:
        c = parse_condition(text)
    except ConditionError as exc:
        assert repr(text) in str(exc)
    else:
        assert c.field in FIXED_FIELDS or c.field.startswith("burn_rate_")


def test_the_shipped_spec_declares_the_runbooks_escalation() -> None:
    (spec,) = load_default()
    (slo,) = spec.slos
    (d,) = slo.decisions
    assert (d.when.text, d.say) == ("budget_used > 0.8",
                                    "escalate now (more than 80% of the error budget is spent)")


def test_a_bad_decision_names_its_field(tmp_path: Path, cli) -> None:
    doc = valid()
    doc["slos"][0]["decisions"] = [{"when": "budget_used >> 0.8", "say": "escalate"},
                                   {"when": "budget_used > 0.8"}]
    spec = write(tmp_path / "d.yaml", doc)
    result = cli.invoke(main, ["validate", spec])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec}: slos[0].decisions[0].when: 'budget_used >> 0.8' is not FIELD OP "
        "NUMBER, e.g. 'budget_remaining < 0.2' (OP: < <= > >= == !=)",
        f"error: {spec}: slos[0].decisions[1].say: is required"]


@given(st.lists(st.tuples(st.floats(0, 3600), st.floats(-1e6, 1e6)), max_size=50),
       st.lists(st.floats(-1e6, 1e6), max_size=3))
def test_chart_points_stay_inside_the_plot(points, thresholds) -> None:
    pts = tuple(sorted(points))
    c = chart("t", [Line("x", pts)], 0, 3600,
              thresholds=[Threshold(str(v), v) for v in thresholds])
    for path in c.paths:
        for segment in path.segments:
            for xy in segment.split():
                x, y = map(float, xy.split(","))
                assert c.left <= x <= c.right and c.top <= y <= c.bottom
    for rule in c.rules:
        assert c.top <= rule.y <= c.bottom
    labels = [t.text for t in c.y_ticks]
    assert len(labels) == len(set(labels)), labels  # neighbouring ticks never read the same
    assert c.empty == (not pts)


def test_serve_without_the_serve_extra_says_which_to_install(cli, monkeypatch) -> None:
    """No Starlette: one line naming the extra, before anything listens."""
    monkeypatch.setitem(sys.modules, "starlette", None)  # import starlette -> ImportError
    for name in [m for m in sys.modules if m.startswith(("starlette.", "slo.serve.app"))]:
        monkeypatch.delitem(sys.modules, name)
    result = cli.invoke(main, ["serve", "--prometheus", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.stderr == ("error: slo-gen serve needs Starlette and uvicorn (starlette is "
                             "missing): pip install 'orchestrator-slo[serve]'\n")
