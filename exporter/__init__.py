"""Orchestrator exporter: instrumentation, in-process SLO series and a secure /metrics server.

Typical use::

    from exporter import instrument_app, start_server
    inst = instrument_app(app)                  # FastAPI/Starlette or Flask
    with inst.dependency("pms", "get_reservation"):
        ...
    start_server("127.0.0.1:9464", inst.exposition_registry(), "web-config.yml")
"""

from exporter.asgi import PrometheusMiddleware, instrument_app, metrics_asgi_app
from exporter.instrumentation import Instrumentation, default_instrumentation
from exporter.routes import StarletteRoutes, TemplateMatcher, WerkzeugRoutes
from exporter.server import (
    MetricsServer,
    ServerLimits,
    make_server,
    metrics_wsgi_app,
    start_server,
)
from exporter.webconfig import WebConfig, WebConfigError, load_web_config
from exporter.wsgi import WSGIMiddleware, instrument_flask

__all__ = [
    "Instrumentation",
    "MetricsServer",
    "PrometheusMiddleware",
    "ServerLimits",
    "StarletteRoutes",
    "TemplateMatcher",
    "WSGIMiddleware",
    "WebConfig",
    "WebConfigError",
    "WerkzeugRoutes",
    "default_instrumentation",
    "instrument_app",
    "instrument_flask",
    "load_web_config",
    "make_server",
    "metrics_asgi_app",
    "metrics_wsgi_app",
    "start_server",
]
