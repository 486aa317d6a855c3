"""How the demo starts Debian's Alertmanager, and the timings it sets on a rendered config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from demo import alertmanager as am
from demo import engines, procs, promconfig

CONFIG = """\
route:
  receiver: default
  group_by: [slo_service, slo_name]
  routes:
    - matchers: ['severity="page"']
      receiver: page
      group_wait: 30s
    - matchers: ['severity=~"ticket|warning"']
      receiver: ticket
      group_wait: 5m
      routes:
        - matchers: ['team="x"']
          receiver: ticket
receivers: [{name: default}, {name: page}, {name: ticket}]
"""


def test_with_timings_sets_every_route_of_a_receiver() -> None:
    fast, slow = am.Timings("1s", "2s", "1h"), am.Timings("20s", "5s", "1h")
    doc = yaml.safe_load(am.with_timings(CONFIG, {"page": fast, "ticket": slow}))
    page, ticket = doc["route"]["routes"]
    timing = ("group_wait", "group_interval", "repeat_interval")
    assert [tuple(r.get(k) for k in timing) for r in (doc["route"], page, ticket,
                                                       ticket["routes"][0])] == [
        (None, None, None), ("1s", "2s", "1h"), ("20s", "5s", "1h"), ("20s", "5s", "1h")]
    assert page["matchers"] == ['severity="page"']  # nothing else changes


def test_with_timings_refuses_a_receiver_no_route_uses() -> None:
    with pytest.raises(ValueError, match=r"no route sends to receiver\(s\) pager"):
        am.with_timings(CONFIG, {"pager": am.Timings("1s", "1s", "1h")})


def _tree(tmp_path: Path, with_template: bool) -> str:
    binary = tmp_path / "alertmanager-0.33.1" / "usr" / "bin" / "prometheus-alertmanager"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    if with_template:
        tmpl = tmp_path / "alertmanager-0.33.1" / "usr" / "share" / "prometheus" / \
            "alertmanager" / "default.tmpl"
        tmpl.parent.mkdir(parents=True)
        tmpl.write_text("{{ define \"x\" }}{{ end }}")
    return str(binary)


def test_a_packaged_binary_gets_its_template_through_an_overlay(tmp_path: Path) -> None:
    binary = _tree(tmp_path, with_template=True)
    cmd = am.launcher(binary, system_template=tmp_path / "nowhere" / "default.tmpl")
    ns = (["--mount", "--propagation", "private"] if os.geteuid() == 0
          else ["--user", "--map-root-user", "--mount"])
    share = str(tmp_path / "alertmanager-0.33.1" / "usr" / "share")
    assert cmd[1:] == [*ns, "sh", "-c", am._OVERLAY, "sh", share, binary]
    assert Path(cmd[0]).name == "unshare"


def test_no_wrapper_when_the_host_has_the_template_or_the_binary_embeds_it(
        tmp_path: Path) -> None:
    host = tmp_path / "host.tmpl"
    host.write_text("")
    packaged = _tree(tmp_path / "a", with_template=True)
    upstream = _tree(tmp_path / "b", with_template=False)
    assert am.launcher(packaged, system_template=host) == [packaged]
    assert am.launcher(upstream, system_template=tmp_path / "none") == [upstream]


def test_argv_binds_127_0_0_1_and_no_cluster_port(tmp_path: Path) -> None:
    upstream = _tree(tmp_path, with_template=False)
    assert am.argv(upstream, tmp_path / "am.yml", tmp_path / "data", "127.0.0.1:9093") == [
        upstream, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
        "--web.listen-address=127.0.0.1:9093", "--cluster.listen-address=", "--log.level=warn"]


def test_alertmanager_engine_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "am"
    fake.write_text("#!/bin/sh\necho 'alertmanager, version 9.9.9 (branch: x)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ALERTMANAGER", str(fake))
    assert engines.alertmanager().version == "9.9.9"
    monkeypatch.delenv("ALERTMANAGER")
    with pytest.raises(procs.StartError, match="no such executable alertmanager"):
        engines.alertmanager(str(tmp_path / "missing"))


@pytest.mark.engine
def test_debian_alertmanager_starts(tmp_path: Path) -> None:
    """The packaged 0.33 from .tools/ starts through the overlay and answers /-/ready."""
    try:
        engine = engines.alertmanager()
    except procs.StartError as exc:
        pytest.skip(str(exc))
    config = tmp_path / "am.yml"
    config.write_text(CONFIG)
    port = procs.free_port()
    child = am.start(lambda n, a, log: procs.spawn(n, a, log), engine.path, config,
                     tmp_path / "data", port, tmp_path / "am.log")
    try:
        assert child.alive()
    finally:
        procs.stop(child)


def test_prometheus_sends_its_alerts_to_the_alertmanager_given() -> None:
    doc = yaml.safe_load(promconfig.config(["127.0.0.1:9464"], [], "5s",
                                           alertmanagers=["127.0.0.1:9093"]))
    assert doc["alerting"] == {"alertmanagers": [{"static_configs": [
        {"targets": ["127.0.0.1:9093"]}]}]}
    assert "alerting" not in yaml.safe_load(promconfig.config(["127.0.0.1:9464"], []))
