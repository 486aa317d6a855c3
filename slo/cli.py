"""``slo-gen``: render, validate, check and test SLO rules.

A user's mistake prints one line per problem on stderr (file, field path, what is wrong) and
exits 1; nothing is written unless everything rendered and passed ``promtool check``.
"""

from __future__ import annotations

import gc
import glob
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click

from slo.engines import alertmanager, promtool, vmalert
from slo.errors import Problem, UserError
from slo.model.durations import format_duration, parse_duration
from slo.model.naming import NATIVE, SLOTH
from slo.model.spec import ServiceSpec
from slo.outputs.alertmanager import build_config, render_config
from slo.outputs.dashboard import render_dashboard
from slo.outputs.drift import drift
from slo.outputs.formats import FORMATS, PARTIAL_RESPONSE, Options, render
from slo.outputs.writer import Rendered, write_atomically
from slo.readers.load import load_default, load_paths
from slo.rules.build import build_services
from slo.rules.plan import PERIOD_STEP
from slo.status.api import Unavailable
from slo.status.run import Sources
from slo.status.run import run as run_status

DEFAULT_RULES_DIR = "rules"
#: A file of OpenSLO targets, policies or SLIs alone holds no SLO: nothing to render from it.
NO_SLO = ("no SLO in the files given, nothing to render (OpenSLO targets, policies and SLIs "
          "render with the SLOs that use them: give those files together)")
ENGINES = ("prometheus", "vmalert")


def _user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a UserError into its lines on stderr and exit status 1, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(1)

    return wrapper


def _load(specs: tuple[str, ...]) -> list[ServiceSpec]:
    """The specs, and a ``note:`` line on stderr for each thing a reader assumed."""
    loaded = load_paths(list(specs)) if specs else load_default()
    for line in dict.fromkeys(line for spec in loaded for line in spec.note_lines()):
        click.echo(f"note: {line}", err=True)
    return loaded


def _sloth_compat(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--sloth-compat", is_flag=True,
        help="Sloth's label names (sloth_id, sloth_service, sloth_slo, sloth_window, "
             "sloth_severity) and sloth_slo_info, so Sloth's Grafana dashboards keep working."
    )(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orchestrator-slo")
def main() -> None:
    """Generate Prometheus SLO rules, burn-rate alerts and their promtool tests from a spec.

    With no SPEC, the embedded default spec (the orchestrator's 99.5%/30d SLO and the runbook's
    series and alerts) is used.
    """


@contextmanager
def _without_cycle_collector() -> Iterator[None]:
    """Rendering allocates hundreds of thousands of small dicts and lists, none in a cycle:
    reference counting frees them all, and the cycle collector would only rescan them as they
    pile up (BENCHMARKS.md, section 3, measures it). Off for the render, back on after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


MAX_PERIOD_STEP = 3600  # a longer step would hold the period ratio back by as much


def _period_step(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """``--period-step`` in seconds; 0 turns the step sums off."""
    if value == "0":
        return 0
    try:
        seconds = parse_duration(value)
    except ValueError:
        seconds = -1
    if not 1 <= seconds <= MAX_PERIOD_STEP:
        raise click.BadParameter(f"{value!r} is not a duration from 1s to 1h (or 0)")
    return seconds


@main.command("render")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option("-o", "--output", default=DEFAULT_RULES_DIR, show_default=True,
              help="Directory for <service>.rules.yml and <service>.test.yml; '-' writes the "
                   "rules to stdout.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="prometheus",
              show_default=True,
              help="Plain rule files with promtool tests; a PrometheusRule object; a Mimir/"
                   "Cortex ruler namespace file; or Thanos Ruler groups.")
@click.option("--namespace", default=None,
              help="metadata.namespace of a PrometheusRule; the Mimir namespace (default: the "
                   "service).")
@click.option("--partial-response", type=click.Choice(PARTIAL_RESPONSE), default="abort",
              show_default=True, help="Thanos partial_response_strategy of every group.")
@click.option("--period-step", default=format_duration(PERIOD_STEP), show_default=True,
              metavar="DURATION",
              callback=_period_step,
              help="How often the period ratio (periods of a day or more) takes in new data: "
                   "a group with this interval sums the 5m rates of each step, and the period "
                   "adds those up, which costs a fraction of reading every 5m rate. 1s to 1h; "
                   "0 reads every 5m rate at each evaluation instead.")
@click.option("--no-check", is_flag=True,
              help="Skip 'promtool check rules' before writing (it runs when promtool exists).")
@click.option("--check", "drift_check", is_flag=True,
              help="Write nothing: exit 1 with a unified diff when the files in the output "
                   "directory are stale or missing, 0 when they are identical (for CI).")
@_sloth_compat
@_user_errors
def render_cmd(specs: tuple[str, ...], output: str, fmt: str, namespace: str | None,
               partial_response: str, period_step: int, no_check: bool,
               drift_check: bool, sloth_compat: bool) -> None:
    """Render rules (and their tests) for SPEC files; the same spec gives the same bytes.

    SPEC files may be slo-gen specs, Sloth prometheus/v1 specs or OpenSLO v1 documents.
    """
    options = Options(fmt, SLOTH if sloth_compat else NATIVE, namespace, partial_response,
                      period_step)
    loaded = _load(specs)
    if not any(spec.slos for spec in loaded):
        raise UserError(NO_SLO)
    with _without_cycle_collector():
        files = render(loaded, options)
    if drift_check:
        _drift_report(Path(output), files)
        return
    if not no_check:
        _precheck(files)
    if output == "-":
        _to_stdout(f.text for f in files if not f.name.endswith(".test.yml"))
        return
    for path in write_atomically(Path(output), files):
        click.echo(f"wrote {path}", err=True)


def _to_stdout(texts: Iterable[str]) -> None:
    """Write to stdout; a failed write (``> /dev/full``, a closed pipe) is one error line."""
    try:
        for text in texts:
            sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        # what is still buffered goes nowhere, so the flush at exit cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise UserError(Problem("-", "", f"cannot write to standard output: "
                                f"{exc.strerror or exc}")) from None


def _drift_report(directory: Path, files: list[Rendered]) -> None:
    if str(directory) == "-":
        raise UserError("--check compares with files on disk: give a directory with -o")
    stale = drift(directory, files)
    for d in stale:
        click.echo(d.diff, nl=False)
    for d in stale:
        click.echo(f"error: {d.path}: {d.reason}: run `slo-gen render -o {directory}` "
                   "and commit the result", err=True)
    if stale:
        sys.exit(1)
    click.echo(f"ok: {len(files)} file(s) in {directory} match the spec", err=True)


def _precheck(files: list[Rendered]) -> None:
    """Check what would be written with the real promtool, in a scratch directory."""
    try:
        binary = promtool.promtool()
    except UserError:
        click.echo("note: promtool not found, rendered rules were not checked", err=True)
        return
    with tempfile.TemporaryDirectory(prefix="slo-gen-") as tmp:
        paths = []
        for f in files:
            if f.check_text is None:
                continue
            p = Path(tmp) / f.name
            p.write_text(f.check_text, encoding="utf-8")
            paths.append(str(p))
        result = promtool.check_rules(paths, binary)
        if not result.ok:
            raise UserError(f"rendered rules failed promtool check (nothing written):\n"
                            f"{_unscratched(result.output, tmp)}")


def _unscratched(output: str, scratch: str) -> str:
    """promtool's report with the scratch directory's paths (deleted by the time anyone reads
    them) and their line:column positions replaced by the file's name: the group and rule
    named after them say which rule it is."""
    pattern = re.escape(str(Path(scratch))) + r"/([^\s:]+)(?::\s*\d+:\d+)?"
    return re.sub(pattern, r"\1 (as rendered)", output)


@main.command("dashboard")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option("-o", "--output", default="-", show_default=True,
              help="A FILE.json (one service), a directory for <service>.dashboard.json, or "
                   "'-' for stdout (one service).")
@_sloth_compat
@_user_errors
def dashboard_cmd(specs: tuple[str, ...], output: str, sloth_compat: bool) -> None:
    """Render a Grafana dashboard per service that reads only the recorded series."""
    services = build_services(_load(specs), SLOTH if sloth_compat else NATIVE)
    files = [Rendered(f"{svc.service}.dashboard.json", render_dashboard(svc))
             for svc in services]
    single = output == "-" or output.endswith(".json")
    if single and len(files) != 1:
        names = ", ".join(svc.service for svc in services)
        raise UserError(f"{len(files)} services ({names}): give a directory "
                        "with -o, one dashboard is written per service")
    if output == "-":
        _to_stdout([files[0].text])
        return
    target = Path(output)
    if single:
        files = [Rendered(target.name, files[0].text)]
        target = target.parent
    for path in write_atomically(target, files):
        click.echo(f"wrote {path}", err=True)


@main.command("alertmanager")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option("-o", "--output", default="-", show_default=True, metavar="FILE",
              help="The configuration file; its routing and inhibition tests go beside it as "
                   "<stem>.amtest.yml (run them with `slo-gen test`). '-' writes the "
                   "configuration to stdout.")
@click.option("--fragment", is_flag=True,
              help="Only the route subtree (`routes`) and `inhibit_rules`, to merge into an "
                   "existing configuration that defines the receivers.")
@click.option("--webhook-url", metavar="TEMPLATE", default=None,
              help="Every receiver's webhook URL; {receiver} is replaced by the receiver's "
                   "name (e.g. http://127.0.0.1:9095/notify/{receiver}). Default: a "
                   "placeholder that reaches nothing. A URL with a password is refused.")
@click.option("--no-check", is_flag=True,
              help="Skip `amtool check-config` before writing (it runs when amtool exists).")
@click.option("--amtool", "amtool_path", metavar="PATH", default=None,
              help="The amtool to check with (default: $AMTOOL, else the newest found).")
@_sloth_compat
@_user_errors
def alertmanager_cmd(specs: tuple[str, ...], output: str, fragment: bool,
                     webhook_url: str | None, no_check: bool, amtool_path: str | None,
                     sloth_compat: bool) -> None:
    """Render an Alertmanager configuration for SPEC files: receivers by severity, a route per
    service grouped by SLO, and inhibit rules (a page inhibits its SLO's tickets, a faster
    page tier a slower one, the runbook's P1 its warnings, and the spec's own)."""
    naming = SLOTH if sloth_compat else NATIVE
    config = build_config(build_services(_load(specs), naming), naming)
    name = "alertmanager.yml" if output == "-" else Path(output).name
    files = render_config(config, webhook_url, fragment, name)
    if not no_check:
        _precheck_alertmanager(files, amtool_path)
    if output == "-":
        click.echo(files[0].text, nl=False)
        return
    for path in write_atomically(Path(output).parent, files):
        click.echo(f"wrote {path}", err=True)


def _precheck_alertmanager(files: list[Rendered], amtool_path: str | None) -> None:
    try:
        binary = alertmanager.amtool(amtool_path)
    except UserError:
        if amtool_path:
            raise
        click.echo("note: amtool not found, the configuration was not checked", err=True)
        return
    with tempfile.TemporaryDirectory(prefix="slo-gen-") as tmp:
        for f in files:
            (Path(tmp) / f.name).write_text(f.text, encoding="utf-8")
        result = alertmanager.check_test_file(str(Path(tmp) / files[1].name), binary)
        if not result.ok:
            raise UserError(f"rendered configuration failed amtool check-config (nothing "
                            f"written):\n{result.output}")


@main.command("validate")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option("--no-check", is_flag=True,
              help="Skip 'promtool check rules' on the rules render would write (it runs "
                   "when promtool exists).")
@_user_errors
def validate_cmd(specs: tuple[str, ...], no_check: bool) -> None:
    """Check SPEC files without writing anything; report every problem, one per line.

    Everything `render` does short of writing runs (rules, their tests, promtool check), so a
    spec that validates renders.
    """
    loaded = _load(specs)
    if not any(spec.slos for spec in loaded):  # render refuses it: so does validate, first
        raise UserError(NO_SLO)
    with _without_cycle_collector():
        files = render(loaded, Options("prometheus", NATIVE))
    if not no_check:
        _precheck(files)
    count = sum(len(s.slos) for s in loaded)
    click.echo(f"ok: {len(loaded)} spec(s), {count} SLO(s)")


@main.command("status")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option("--prometheus", "prometheus_url", metavar="URL", required=True,
              help="A Prometheus-compatible API with the rendered rules loaded (Prometheus, "
                   "VictoriaMetrics; vmalert for the alerts), e.g. http://127.0.0.1:9090.")
@click.option("--alertmanager", "alertmanager_url", metavar="URL", default=None,
              help="Alertmanager (API v2) to show each alert's delivery: active, silenced or "
                   "inhibited.")
@click.option("--alerts-api", "alerts_url", metavar="URL", default=None,
              help="Where /api/v1/alerts is read (default: the --prometheus URL; vmalert's "
                   "URL when VictoriaMetrics serves the series).")
@click.option("--output", type=click.Choice(("table", "json")), default="table",
              show_default=True)
@click.option("--time", "at", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="UNIX_SECONDS",
              help="Evaluate at this instant instead of now (every query uses it).")
@click.option("--fail-if", "fail_if", multiple=True, metavar="'FIELD OP NUMBER'",
              help="Exit 1 when this holds for any SLO, e.g. 'budget_remaining < 0.2'; may be "
                   "repeated. Fields: budget_remaining, budget_used, burn_rate (5m), "
                   "burn_rate_<window> (each alert window), sli_5m, sli_period, pages_firing.")
@_sloth_compat
def status_cmd(specs: tuple[str, ...], prometheus_url: str, alertmanager_url: str | None,
               alerts_url: str | None, output: str, at: float | None,
               fail_if: tuple[str, ...], sloth_compat: bool) -> None:
    """Every SLO's error budget, burn rates and alerts, from the recorded series.

    Exit status: 0 healthy; 1 a --fail-if condition holds (the SLO is named); 2 the status
    cannot be told (Prometheus unreachable or answering an error, a missing figure a
    condition needs, bad input).
    """
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    try:
        outcome = run_status(_load(specs), SLOTH if sloth_compat else NATIVE,
                             Sources(prometheus_url, alerts_url, alertmanager_url), output,
                             fail_if, colour, at)
    except (UserError, Unavailable) as exc:
        problems = exc.problems if isinstance(exc, UserError) else [str(exc)]
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    click.echo(outcome.stdout, nl=False, color=colour)
    for line in outcome.stderr:
        click.echo(line, err=True)
    sys.exit(outcome.code)


SERVE_LISTEN = "127.0.0.1:9099"


@main.command("serve")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option("--prometheus", "prometheus_url", metavar="URL", required=True,
              help="The Prometheus-compatible API to read, as for `slo-gen status`.")
@click.option("--alertmanager", "alertmanager_url", metavar="URL", default=None,
              help="Alertmanager (API v2) for each alert's delivery: silenced, inhibited.")
@click.option("--alerts-api", "alerts_url", metavar="URL", default=None,
              help="Where /api/v1/alerts is read (default: the --prometheus URL; vmalert's "
                   "URL when VictoriaMetrics serves the series).")
@click.option("--listen", default=SERVE_LISTEN, show_default=True, metavar="HOST:PORT",
              help="Address of the status page (127.0.0.1 only unless told otherwise).")
@click.option("--web-config", type=click.Path(dir_okay=False), default=None,
              help="The exporter's web config file (exporter-toolkit style): TLS and basic "
                   "auth for the page.")
@click.option("--refresh", default=30, show_default=True, type=click.IntRange(5, 3600),
              help="Seconds between the page's own reloads.")
@_sloth_compat
@_user_errors
def serve_cmd(specs: tuple[str, ...], prometheus_url: str, alertmanager_url: str | None,
              alerts_url: str | None, listen: str, web_config: str | None, refresh: int,
              sloth_compat: bool) -> None:
    """A live status page of every SLO: budget, burn rates, alerts and charts.

    Server-rendered HTML and SVG (no JavaScript needed); reads only the recorded series and
    lists every query it sends. Needs the `serve` extra (Starlette, uvicorn).
    """
    from slo.serve.launch import launch  # Starlette is imported only when serving

    launch(_load(specs), SLOTH if sloth_compat else NATIVE,
           Sources(prometheus_url, alerts_url, alertmanager_url), listen, web_config, refresh,
           lambda line: click.echo(line, err=True))


def _files(files: tuple[str, ...], *patterns: str) -> list[str]:
    if files:
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            raise UserError([Problem(m, "", "no such file") for m in missing])
        return list(files)
    found = sorted(f for pattern in patterns
                   for f in glob.glob(str(Path(DEFAULT_RULES_DIR) / pattern)))
    if not found:
        raise UserError(f"no files given and none match "
                        f"{' or '.join(f'{DEFAULT_RULES_DIR}/{p}' for p in patterns)}")
    return found


def _promtool_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--promtool", "promtool_path", metavar="PATH", default=None,
        help="The promtool to run (default: $PROMTOOL, else the newest promtool on PATH or "
             "in .tools/, where `make engines` puts Prometheus 3.5 and 2.53).")(fn)


@main.command("check")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@_promtool_option
@_user_errors
def check_cmd(files: tuple[str, ...], promtool_path: str | None) -> None:
    """promtool check rules --lint=all --lint-fatal on FILES (default rules/*.rules.yml).

    Prints which promtool ran and its version first.
    """
    paths = _files(files, "*.rules.yml")
    _report(promtool.check_rules(paths, promtool.promtool(promtool_path)))


@main.command("test")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option("--engine", type=click.Choice(ENGINES), default="prometheus", show_default=True,
              help="prometheus: `promtool test rules`. vmalert: VictoriaMetrics' "
                   "`vmalert-tool unittest`, on a converted copy of each file (MetricsQL "
                   "semantics; see docs/engines.md).")
@_promtool_option
@click.option("--vmalert-tool", "vmalert_tool_path", metavar="PATH", default=None,
              help="The vmalert-tool to run with --engine vmalert (default: $VMALERT_TOOL, "
                   "else the one on PATH or in .tools/).")
@click.option("--amtool", "amtool_path", metavar="PATH", default=None,
              help="The amtool for Alertmanager test files (default: $AMTOOL, else the "
                   "newest found).")
@click.option("--alertmanager", "alertmanager_path", metavar="PATH", default=None,
              help="The Alertmanager that runs the inhibition cases (default: $ALERTMANAGER, "
                   "else the newest found; without one they are skipped with a note).")
@_user_errors
def test_cmd(files: tuple[str, ...], engine: str, promtool_path: str | None,
             vmalert_tool_path: str | None, amtool_path: str | None,
             alertmanager_path: str | None) -> None:
    """Run the rule unit tests in FILES (default rules/*.test.yml and rules/*.amtest.yml) on a
    real engine, and the
    routing and inhibition tests of Alertmanager test files (`slo-gen alertmanager`).

    Supported engines: Prometheus' promtool (3.x and 2.x; the newest found is the default)
    and VictoriaMetrics' vmalert-tool; amtool and Alertmanager for Alertmanager test files.
    Prints which binary ran and its version first.
    """
    paths = _files(files, "*.test.yml", "*.amtest.yml")
    am_paths = [p for p in paths if alertmanager.is_test_file(p)]
    rule_paths = [p for p in paths if p not in am_paths]
    ok = True
    if rule_paths:
        if engine == "vmalert":
            result = vmalert.run_rule_tests(rule_paths, vmalert.vmalert_tool(vmalert_tool_path))
        else:
            result = promtool.run_rule_tests(rule_paths, promtool.promtool(promtool_path))
        ok = _report(result, exit_on_failure=False)
    if am_paths:
        ok = _alertmanager_tests(am_paths, amtool_path, alertmanager_path,
                                 explicit=bool(files)) and ok
    if not ok:
        sys.exit(1)


def _alertmanager_tests(paths: list[str], amtool_path: str | None,
                        alertmanager_path: str | None, explicit: bool) -> bool:
    try:
        tool = alertmanager.amtool(amtool_path)
    except UserError:
        if explicit or amtool_path:
            raise
        click.echo(f"note: amtool not found, {', '.join(paths)} not run", err=True)
        return True
    server = alertmanager.alertmanager(alertmanager_path) if alertmanager_path else None
    result = alertmanager.run_tests(paths, tool, server)
    click.echo(result.output)
    return result.ok


def _report(result: promtool.Result, exit_on_failure: bool = True) -> bool:
    click.echo(f"engine: {result.engine.describe()}")
    click.echo(result.output)
    if not result.ok and exit_on_failure:
        sys.exit(1)
    return result.ok


if __name__ == "__main__":  # `python -m slo.cli ...`, as the docs run it from a checkout
    main()
