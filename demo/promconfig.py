"""The Prometheus configuration and command line the stack and the e2e tests run.

One place decides how the demo is scraped (job ``orchestrator``, a short interval so the
runbook's 5-minute windows fill quickly) and how Prometheus is started (127.0.0.1 only, data
under the given directory, rules from the rendered files), so ``make run`` and the tests run
the same setup.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

JOB = "orchestrator"


def config(targets: Sequence[str], rule_files: Sequence[Path], scrape_interval: str = "5s",
           evaluation_interval: str | None = None) -> str:
    """prometheus.yml scraping ``targets`` (``host:port``) as job ``orchestrator``."""
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
    return "# Written by demo.promconfig: the demo stack's Prometheus.\n" + yaml.safe_dump(
        doc, sort_keys=False)


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
