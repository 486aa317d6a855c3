"""SLO spec model and Prometheus rule generator for the orchestrator service."""

__version__ = "0.1.0"
