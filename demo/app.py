"""The demo orchestrator: a Starlette app standing in for the guest-messaging API.

Routes (the ones the runbook names, plus what makes its scenarios reproducible):

- ``POST /webhooks/whatsapp``  WhatsApp Cloud API notifications, or the runbook's synthetic
  ``{"test": "synthetic_transaction"}``; text asking about rooms checks PMS availability, audio
  goes to the audio processor, every message is saved and answered over WhatsApp
- ``GET /reservations/{id}``, ``POST /reservations``  through the PMS circuit breaker
- ``GET /health``
- ``POST /admin/circuit-breaker/config``, ``GET /admin/circuit-breaker``,
  ``GET|POST|DELETE /admin/faults``  bearer token required (401 without)

A failing dependency raises an exception carrying its ``error_type``; it passes through the
exporter's middleware (which counts it as ``orchestrator_errors_total{error_type=...}``, e.g.
``pms_unavailable`` or ``circuit_open``) and is then answered as a JSON 500 by
:class:`DependencyErrors`, so the runbook's ``by (error_type)`` query names the failing part.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from demo import validation
from demo.auth import BearerAuth
from demo.breaker import BreakerConfig, CircuitBreaker, CircuitOpenError
from demo.faults import Fault, FaultTable
from demo.simulated import ROUTE_ERROR_TYPES, Dependencies, DependencyFailure
from exporter import Instrumentation, instrument_app
from exporter.instrumentation import PRECREATED_ERROR_TYPES
from exporter.routes import starlette_templates
from slo.model.spec import ServiceSpec

log = logging.getLogger("demo")

MAX_BODY = 256 * 1024
BOOKING_WORDS = ("reserv", "book", "room", "availab", "stay", "night")


@dataclass
class DemoSettings:
    admin_token: str
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    faults: dict[str, Fault] = field(default_factory=dict)
    seed: int | None = None
    instance: str = "demo"
    specs: Iterable[ServiceSpec] | None = None  # None: the embedded orchestrator spec


@dataclass
class Demo:
    """The app and the parts tests and the server want to reach."""

    app: Starlette
    inst: Instrumentation
    breaker: CircuitBreaker
    faults: FaultTable


class DependencyErrors:
    """Outermost middleware: a dependency failure becomes a JSON 500 instead of a traceback.

    It sits outside the exporter's middleware on purpose, so the exporter sees the exception
    and records its ``error_type``; the status it records for an exception (500) is the one
    answered here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except (DependencyFailure, CircuitOpenError) as exc:
            body = {"error": exc.error_type, "detail": str(exc)}
            await JSONResponse(body, status_code=500)(scope, receive, send)


async def _json_body(request: Request) -> Any:
    """The request's JSON body, read up to :data:`MAX_BODY` bytes and no further (a chunked
    body has no Content-Length to refuse it by: reading stops at the limit, answered 413)."""
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY:
        raise validation.TooLarge(MAX_BODY)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise validation.TooLarge(MAX_BODY)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise validation.Invalid([("body", "must be JSON")]) from None
    except RecursionError:  # 100,000 brackets: the client's mistake, not a 500
        raise validation.Invalid([("body", "JSON nested too deeply")]) from None


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, validation.Invalid)
    status = 413 if isinstance(exc, validation.TooLarge) else 422
    return JSONResponse(exc.as_json(), status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


def create_app(settings: DemoSettings, registry: CollectorRegistry | None = None) -> Demo:
    """Build one instance with its own registry (two instances never share a counter)."""
    inst = Instrumentation(CollectorRegistry() if registry is None else registry,
                           specs=settings.specs)
    faults = FaultTable()
    for name, fault in settings.faults.items():
        faults.set(name, fault)
    breaker = CircuitBreaker(settings.breaker, on_state=inst.set_circuit_breaker_state)
    deps = Dependencies(inst, faults, breaker, settings.seed)
    auth = BearerAuth(settings.admin_token)

    def admin(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if not auth.check(request.headers.get("authorization")):
                return JSONResponse({"error": "unauthorized: send Authorization: Bearer TOKEN"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            return await handler(request)
        return guarded

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "instance": settings.instance,
                             "circuit_breaker": breaker.state})

    async def whatsapp_webhook(request: Request) -> Response:
        messages = validation.webhook(await _json_body(request))
        if messages is None:  # the runbook's synthetic transaction: a database round trip
            await deps.database_call("ping")
            return JSONResponse({"status": "ok", "synthetic": True})
        for message in messages:
            await deps.database_call("save_message")
            if message.kind == "audio":
                await deps.audio.call("transcribe")
            elif any(w in message.text.lower() for w in BOOKING_WORDS):
                await deps.pms.call("check_availability")
            await deps.whatsapp.call("send_message")
        return JSONResponse({"status": "processed", "messages": len(messages)})

    async def get_reservation(request: Request) -> Response:
        rid = validation.reservation_id(request.path_params["id"])
        await deps.pms.call("get_reservation")
        if rid.upper().startswith("X"):  # the simulated PMS knows no reservation starting X
            return JSONResponse({"error": "reservation not found", "id": rid}, status_code=404)
        return JSONResponse({"id": rid, "status": "confirmed", "room_type": "standard"})

    async def create_reservation(request: Request) -> Response:
        data = validation.new_reservation(await _json_body(request))
        await deps.pms.call("create_reservation")
        await deps.database_call("save_reservation")
        if "email" in data:
            await deps.gmail.call("send_email")
        if "phone" in data:
            await deps.whatsapp.call("send_message")
        rid = f"R{zlib.crc32(json.dumps(data, sort_keys=True).encode()) % 10**8:08d}"
        return JSONResponse({"id": rid,
                             "status": "confirmed", **data}, status_code=201)

    async def breaker_config(request: Request) -> Response:
        breaker.configure(validation.breaker_config(await _json_body(request), breaker.config))
        log.info("circuit breaker reconfigured: %s", breaker.config)
        return JSONResponse(breaker.snapshot())

    async def breaker_state(request: Request) -> Response:
        return JSONResponse(breaker.snapshot())

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"faults": faults.snapshot()})

    async def set_fault(request: Request) -> Response:
        name, fault = validation.fault(await _json_body(request))
        faults.set(name, fault)
        log.warning("fault on %s: %s", name, fault)
        return JSONResponse({"faults": faults.snapshot()})

    async def clear_faults(request: Request) -> Response:
        faults.clear()
        log.warning("all faults cleared")
        return JSONResponse({"faults": faults.snapshot()})

    business = [  # the routes that call dependencies
        Route("/webhooks/whatsapp", whatsapp_webhook, methods=["POST"]),
        Route("/reservations/{id}", get_reservation, methods=["GET"]),
        Route("/reservations", create_reservation, methods=["POST"]),
    ]
    routes = [
        Route("/health", health, methods=["GET"]),
        *business,
        Route("/admin/circuit-breaker/config", admin(breaker_config), methods=["POST"]),
        Route("/admin/circuit-breaker", admin(breaker_state), methods=["GET"]),
        Route("/admin/faults", admin(list_faults), methods=["GET"]),
        Route("/admin/faults", admin(set_fault), methods=["POST"]),
        Route("/admin/faults", admin(clear_faults), methods=["DELETE"]),
    ]
    app = Starlette(routes=routes, exception_handlers={validation.Invalid: _invalid})
    instrument_app(app, inst)
    # Every error class a route can fail with starts at zero, so the first failure after a
    # start is a visible increase to rate() rather than the new series' baseline.
    inst.precreate_routes(starlette_templates(business), (*PRECREATED_ERROR_TYPES,
                                                            *ROUTE_ERROR_TYPES))
    app.add_middleware(DependencyErrors)  # added last: outside the exporter's middleware
    return Demo(app, inst, breaker, faults)
