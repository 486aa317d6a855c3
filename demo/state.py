"""The running stack's address book, written by ``make run`` for ``make health`` and
``make chaos-orchestrator``.

Ports are configurable (9090 may be taken), so the helpers cannot assume the defaults: the
stack writes ``var/demo/state.json`` (URLs and child pids) and the admin token next to it; the
helpers read them, falling back to the defaults when no stack wrote one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_DIR = Path("var/demo")
STATE_FILE = "state.json"
TOKEN_FILE = "admin-token"


@dataclass
class StackState:
    app_urls: list[str] = field(default_factory=lambda: ["http://127.0.0.1:8000"])
    metrics_urls: list[str] = field(default_factory=lambda: ["http://127.0.0.1:9464/metrics"])
    prometheus_url: str = "http://127.0.0.1:9090"
    token_file: str = str(DEFAULT_DIR / TOKEN_FILE)
    pids: dict[str, int] = field(default_factory=dict)
    #: "prometheus", or "victoriametrics" for the global view: then ``prometheus_url`` is
    #: VictoriaMetrics' query API, the shards scrape and vmalert evaluates the rules
    engine: str = "prometheus"
    shard_urls: list[str] = field(default_factory=list)
    vmalert_url: str = ""
    #: Alertmanager and the webhook receiver it delivers to ("" from an older stack)
    alertmanager_url: str = ""
    notifications_url: str = ""

    @property
    def alerts_url(self) -> str:
        """Where the firing alerts show."""
        if self.vmalert_url:
            return self.vmalert_url + "/vmalert/alerts"
        return self.prometheus_url + "/alerts"

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, directory / STATE_FILE)


def load(directory: Path = DEFAULT_DIR) -> tuple[StackState, bool]:
    """The state the stack wrote in ``directory`` (and True), or the defaults (and False)."""
    path = directory / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return StackState(token_file=str(directory / TOKEN_FILE)), False
    known = {k: v for k, v in data.items() if k in StackState.__dataclass_fields__}
    return StackState(**known), True


def remove(directory: Path) -> None:
    (directory / STATE_FILE).unlink(missing_ok=True)
