"""Multiprocess mode (gunicorn and other pre-fork servers) via ``PROMETHEUS_MULTIPROC_DIR``.

Each worker writes its values to memory-mapped files in the directory; a scrape, served by any
worker, reads all files and sums counters and histograms (gauges by their mode, see
:data:`exporter.metrics.GAUGE_MODES`). Set the variable (to an empty directory) before Python
imports ``prometheus_client``, i.e. in the environment gunicorn starts with.

In-process SLO series are off in this mode, for two reasons: prometheus_client's
``MultiProcessCollector`` only merges its own value files and cannot run custom collectors, and
each worker's windows see only that worker's share of the traffic, so a scrape answered by a
random worker would flip between different per-worker views. Use the recording rules, which
compute the same ratios from the summed counters.

Dead workers: add :func:`child_exit` as gunicorn's ``child_exit`` hook (``gunicorn.conf.py``:
``from exporter.multiprocess import child_exit``) so a dead worker's ``live*`` gauge files are
removed; its counters stay in the sum, as they must for ``rate()`` to stay monotonic.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

ENV = "PROMETHEUS_MULTIPROC_DIR"


def enabled() -> bool:
    """Whether prometheus_client runs in multiprocess mode in this process."""
    return bool(os.environ.get(ENV) or os.environ.get(ENV.lower()))


def registry() -> CollectorRegistry:
    """A registry that merges every worker's files at each scrape (expose this one).

    ``MultiProcessCollector`` describes no families, so the registry cannot tell which names it
    holds and a ``name[]`` filter would find nothing. prometheus-client 0.25 added
    ``support_collectors_without_names`` for exactly that, asked for here where it exists;
    before 0.25 the filter answers an empty page (as prometheus_client's own apps do).
    """
    kwargs: dict[str, Any] = {}
    if "support_collectors_without_names" in inspect.signature(CollectorRegistry).parameters:
        kwargs["support_collectors_without_names"] = True
    reg = CollectorRegistry(**kwargs)
    # prometheus_client leaves MultiProcessCollector.__init__ unannotated
    MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
    return reg


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn ``child_exit`` hook: drop the dead worker's live gauges."""
    # prometheus_client leaves mark_process_dead unannotated
    mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
