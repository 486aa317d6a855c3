"""Run the status page with uvicorn, on 127.0.0.1 by default, with the exporter's web config.

TLS uses the very ``ssl.SSLContext`` the exporter builds from ``tls_server_config``
(:meth:`exporter.webconfig.TLSConfig.context`: minimum/maximum version, client certificates),
handed to uvicorn after it loads its config, so the two servers cannot drift apart on what a
web-config file means.
"""

from __future__ import annotations

from exporter.webconfig import WebConfig


def serve(app: object, host: str, port: int, web_config: WebConfig) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning",  # type: ignore[arg-type]
                            access_log=False, lifespan="off")
    config.load()
    if web_config.tls is not None:
        config.ssl = web_config.tls.context()
    uvicorn.Server(config).run()
