"""The Prometheus configuration and command line the stack and the e2e tests run.

One place decides how the demo is scraped (job ``orchestrator``, a short interval so the
runbook's 5-minute windows fill quickly) and how Prometheus is started (127.0.0.1 only, data
under the given directory, rules from the rendered files), so ``make run`` and the tests run
the same setup. :func:`shard_config` is a Prometheus of the global view
(:mod:`demo.globalview`): it scrapes its share of the targets and forwards every sample by
``remote_write``, and evaluates no rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

JOB = "orchestrator"


def config(targets: Sequence[str], rule_files: Sequence[Path], scrape_interval: str = "5s",
           evaluation_interval: str | None = None, alertmanagers: Sequence[str] = ()) -> str:
    """prometheus.yml scraping ``targets`` (``host:port``) as job ``orchestrator``, sending
    its alerts to ``alertmanagers`` (``host:port``, API v2) when there are any."""
    doc = {
        "global": {"scrape_interval": scrape_interval,
                   "scrape_timeout": scrape_interval,
                   "evaluation_interval": evaluation_interval or scrape_interval},
        "rule_files": [str(Path(f).resolve()) for f in rule_files],
        "scrape_configs": [{
            "job_name": JOB,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": list(targets), "labels": {"service": "orchestrator"}}],
        }],
    }
    if alertmanagers:
        doc["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": list(alertmanagers)}]}]}
    return "# Written by demo.promconfig: the demo stack's Prometheus.\n" + yaml.safe_dump(
        doc, sort_keys=False)


#: Every shard's samples carry ``shard="<name>"`` (an external label, added on remote write),
#: so the global view can tell the shards apart; the rules sum it away like ``instance``.
SHARD_LABEL = "shard"


def shard_config(targets: Sequence[str], shard: str, remote_write_url: str,
                 scrape_interval: str = "5s") -> str:
    """prometheus.yml of one shard: scrape ``targets``, ``remote_write`` everything, no rules.

    The queue sends at least once a second (``batch_send_deadline``), so a sample reaches the
    global view about a second after its scrape rather than up to five.
    """
    doc = {
        "global": {"scrape_interval": scrape_interval,
                   "scrape_timeout": scrape_interval,
                   "external_labels": {SHARD_LABEL: shard}},
        "scrape_configs": [{
            "job_name": JOB,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": list(targets), "labels": {"service": "orchestrator"}}],
        }],
        "remote_write": [{
            "url": remote_write_url,
            "queue_config": {"batch_send_deadline": "1s", "max_shards": 2},
        }],
    }
    return (f"# Written by demo.promconfig: Prometheus shard {shard} of the demo's global "
            "view (scrape + remote_write, no rules).\n" + yaml.safe_dump(doc, sort_keys=False))


def argv(binary: str, config_file: Path, data_dir: Path, listen: str) -> list[str]:
    """The command line of a throwaway Prometheus bound to ``listen`` (127.0.0.1:PORT)."""
    return [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address={listen}",
        "--log.level=warn",
    ]
