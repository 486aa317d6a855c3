"""One ``/metrics`` response, whoever serves it: format negotiation, ``name[]``, gzip, limits.

The WSGI server (:func:`exporter.server.metrics_wsgi_app`) and the ASGI app
(:func:`exporter.asgi.metrics_asgi_app`) both answer through :func:`render_metrics`, so a
scrape gets the same bytes and headers from either, and a fix lands in both. The function is
synchronous and CPU-bound (collecting, rendering and compressing); the ASGI app runs it in a
worker thread, never in the event loop.

What prometheus_client's own ``make_wsgi_app``/``make_asgi_app`` do, and what this adds:

- the format from ``Accept`` (Prometheus text, or OpenMetrics when asked for), with
  prometheus_client's ``choose_encoder``; an ``Accept`` it cannot parse (0.26 raises on
  ``version=abc``) gets the Prometheus text format, which every scraper reads, instead of a 500;
- ``?name[]=a&name[]=b`` keeps only those metric families (``restricted_registry``);
- gzip when ``Accept-Encoding`` lists it (and not with ``q=0``, which refuses it);
- bounds on the query string, which anyone who can reach the port controls: longer than
  :data:`MAX_QUERY_BYTES` is a 414, more than :data:`MAX_QUERY_FIELDS` fields, bytes that are not
  ASCII or percent-escapes that are not UTF-8 are a 400. Nothing a client sends makes it a 500.
"""

from __future__ import annotations

import gzip
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from prometheus_client.exposition import choose_encoder

#: Longest query string served (a scrape's is empty or a few ``name[]`` values).
MAX_QUERY_BYTES = 8192
#: Most query fields (``name[]`` values and anything else) parsed from one query string.
MAX_QUERY_FIELDS = 256
#: zlib's default: a 100 KiB exposition compresses ~8x at a third of level 9's time.
GZIP_LEVEL = 6

ALLOWED_METHODS = ("GET", "HEAD")
_TEXT = "text/plain; charset=utf-8"


class MetricsResponse(NamedTuple):
    """Status code, headers and body of one ``/metrics`` answer."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _plain(status: int, message: str) -> MetricsResponse:
    body = f"{message}\n".encode()
    return MetricsResponse(status, [("Content-Type", _TEXT),
                                    ("Content-Length", str(len(body)))], body)


def method_not_allowed(method: str) -> MetricsResponse:
    """The answer to anything but GET or HEAD."""
    response = _plain(405, f"Method Not Allowed: {method[:32]!r}; use GET")
    response.headers.append(("Allow", ", ".join(ALLOWED_METHODS)))
    return response


def _names(query: str | bytes) -> list[str] | MetricsResponse:
    """The ``name[]`` values of a query string, or the 4xx answer it deserves.

    ``query`` is raw bytes (ASGI) or a str holding the raw bytes one per character (WSGI's
    latin-1 ``QUERY_STRING``).
    """
    if isinstance(query, str):
        try:
            query = query.encode("latin-1")
        except UnicodeEncodeError:
            return _plain(400, "Bad Request: the query string is not ASCII")
    if len(query) > MAX_QUERY_BYTES:
        return _plain(414, f"URI Too Long: the query string is over {MAX_QUERY_BYTES} bytes")
    try:
        text = query.decode("ascii")
    except UnicodeDecodeError:
        return _plain(400, "Bad Request: the query string is not ASCII (percent-encode it)")
    try:
        params = parse_qs(text, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_QUERY_FIELDS)
    except UnicodeDecodeError:
        return _plain(400, "Bad Request: a query value is not UTF-8")
    except ValueError:  # parse_qs: "Max number of fields exceeded"
        return _plain(400, f"Bad Request: more than {MAX_QUERY_FIELDS} query fields")
    return params.get("name[]", [])


def gzip_wanted(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` accepts gzip: listed, with no ``q=0`` (``gzip;q=0`` refuses)."""
    for part in (accept_encoding or "").split(","):
        coding, *params = part.split(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def render_metrics(
    registry: Any,
    accept: str | None,
    accept_encoding: str | None,
    query: str | bytes = b"",
) -> MetricsResponse:
    """Render ``registry`` for one scrape, as its ``Accept``, ``Accept-Encoding`` and query
    string ask. Blocking: call it from a thread in async code."""
    names = _names(query)
    if isinstance(names, MetricsResponse):
        return names
    try:
        encoder, content_type = choose_encoder(accept or "")
    except (TypeError, ValueError):  # an unparsable Accept: the format every scraper reads
        encoder, content_type = choose_encoder("")
    source = registry.restricted_registry(names) if names else registry
    body = encoder(source)
    headers = [("Content-Type", content_type), ("Vary", "Accept, Accept-Encoding")]
    if gzip_wanted(accept_encoding):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    return MetricsResponse(200, headers, body)
