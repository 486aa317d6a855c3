"""Request body validation with one clear problem per bad field (answered as a 422).

Hand-written rather than pydantic so the demo only needs Starlette; each validator returns
plain values or raises :class:`Invalid` listing every problem, not just the first.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from demo.breaker import BreakerConfig
from demo.faults import Fault, FaultError, canonical

RESERVATION_ID = re.compile(r"[A-Za-z0-9-]{1,32}")
PHONE = re.compile(r"\+?[0-9]{6,15}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ROOM_TYPES = ("standard", "deluxe", "suite")
MESSAGE_TYPES = ("text", "audio")


class Invalid(Exception):
    """Every problem found in one body: ``[(field, message)]``."""

    def __init__(self, problems: list[tuple[str, str]] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__("; ".join(f"{f}: {m}" for f, m in self.problems))

    def add(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise self

    def as_json(self) -> dict[str, Any]:
        return {"error": "invalid request",
                "problems": [{"field": f, "message": m} for f, m in self.problems]}


class TooLarge(Invalid):
    """The body is over the limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__([("body", f"larger than {limit} bytes")])


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid([("body", "must be a JSON object")])
    return body


def _unknown(body: dict[str, Any], allowed: set[str], errors: Invalid) -> None:
    for key in sorted(set(body) - allowed):
        errors.add(key, "unknown field")


def _number(value: Any) -> float | None:
    """A finite JSON number (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


# -- admin ------------------------------------------------------------------------------------

def breaker_config(body: Any, current: BreakerConfig) -> BreakerConfig:
    """``{"failure_threshold": 0.3, "recovery_timeout": 60, "half_open_max_calls": 5}``;
    any subset (at least one) updates ``current``."""
    b = _object(body)
    errors = Invalid()
    keys = {"failure_threshold", "recovery_timeout", "half_open_max_calls"}
    _unknown(b, keys, errors)
    if not keys & set(b):
        errors.add("body", "give at least one of failure_threshold, recovery_timeout, "
                   "half_open_max_calls")
    values: dict[str, float | int] = {}
    if "failure_threshold" in b:
        x = _number(b["failure_threshold"])
        if x is None or not 0 < x <= 1:
            errors.add("failure_threshold", "must be a ratio of failed calls, 0 < x <= 1")
        else:
            values["failure_threshold"] = x
    if "recovery_timeout" in b:
        x = _number(b["recovery_timeout"])
        if x is None or not 0 < x <= 86400:
            errors.add("recovery_timeout", "must be seconds, greater than 0 (at most 86400)")
        else:
            values["recovery_timeout"] = x
    if "half_open_max_calls" in b:
        n = b["half_open_max_calls"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1000:
            errors.add("half_open_max_calls", "must be a whole number of calls, 1 to 1000")
        else:
            values["half_open_max_calls"] = n
    errors.raise_if_any()
    return BreakerConfig(**{**current.as_dict(), **values})  # type: ignore[arg-type]


def fault(body: Any) -> tuple[str, Fault]:
    """``{"dependency": "pms", "outage": true}`` or with ``error_rate``/``latency``; fields left
    out are healthy, so one call states the whole fault of that dependency."""
    b = _object(body)
    errors = Invalid()
    _unknown(b, {"dependency", "error_rate", "latency", "outage"}, errors)
    name = ""
    try:
        name = canonical(str(b["dependency"])) if "dependency" in b else ""
        if not name:
            errors.add("dependency", "is required (pms, whatsapp, gmail, database, "
                       "audio_processor)")
    except FaultError as exc:
        errors.add("dependency", str(exc))
    values: dict[str, Any] = {}
    for key in ("error_rate", "latency"):
        if key in b:
            x = _number(b[key])
            if x is None:
                errors.add(key, "must be a number")
            else:
                values[key] = x
    if "outage" in b:
        if not isinstance(b["outage"], bool):
            errors.add("outage", "must be true or false")
        else:
            values["outage"] = b["outage"]
    errors.raise_if_any()
    try:
        return name, Fault(**values)
    except FaultError as exc:
        raise Invalid([("body", str(exc))]) from None


# -- reservations -----------------------------------------------------------------------------

def reservation_id(value: str) -> str:
    if not RESERVATION_ID.fullmatch(value):
        raise Invalid([("id", "must be 1-32 letters, digits or '-'")])
    return value


def _date(b: dict[str, Any], key: str, errors: Invalid) -> dt.date | None:
    value = b.get(key)
    if not isinstance(value, str):
        errors.add(key, "is required, a date as YYYY-MM-DD")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.add(key, f"{value!r} is not a date as YYYY-MM-DD")
        return None


def new_reservation(body: Any) -> dict[str, Any]:
    """``{"guest_name", "check_in", "check_out", "room_type", "phone"?, "email"?}``."""
    b = _object(body)
    errors = Invalid()
    _unknown(b, {"guest_name", "check_in", "check_out", "room_type", "phone", "email"}, errors)
    name = b.get("guest_name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        errors.add("guest_name", "is required, 1-100 characters")
    check_in, check_out = _date(b, "check_in", errors), _date(b, "check_out", errors)
    if check_in and check_out and check_out <= check_in:
        errors.add("check_out", "must be after check_in")
    if b.get("room_type") not in ROOM_TYPES:
        errors.add("room_type", f"must be one of {', '.join(ROOM_TYPES)}")
    if "phone" in b and not (isinstance(b["phone"], str) and PHONE.fullmatch(b["phone"])):
        errors.add("phone", "must be 6-15 digits, optionally starting with +")
    if "email" in b and not (isinstance(b["email"], str) and EMAIL.fullmatch(b["email"])):
        errors.add("email", "must be an email address")
    errors.raise_if_any()
    return dict(b)


# -- WhatsApp webhook -------------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    sender: str
    kind: str  # text | audio
    text: str = ""


def webhook(body: Any) -> list[Message] | None:
    """The runbook's ``{"test": "synthetic_transaction"}`` (returns None) or a WhatsApp Cloud
    API notification (returns its messages; status receipts carry none)."""
    b = _object(body)
    if "test" in b:
        if b != {"test": "synthetic_transaction"}:
            raise Invalid([("test", "the only synthetic test is \"synthetic_transaction\"")])
        return None
    errors = Invalid()
    if b.get("object") != "whatsapp_business_account":
        errors.add("object", "must be \"whatsapp_business_account\" (or send "
                   "{\"test\": \"synthetic_transaction\"})")
    entries = b.get("entry")
    if not isinstance(entries, list) or not entries:
        errors.add("entry", "must be a non-empty list")
        entries = []
    messages: list[Message] = []
    for i, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            errors.add(f"entry[{i}].changes", "must be a list")
            continue
        for j, change in enumerate(changes):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                errors.add(f"entry[{i}].changes[{j}].value", "must be an object")
                continue
            for k, msg in enumerate(value.get("messages", [])):
                parsed = _message(msg, f"entry[{i}].changes[{j}].value.messages[{k}]", errors)
                if parsed is not None:
                    messages.append(parsed)
    errors.raise_if_any()
    return messages


def _message(msg: Any, where: str, errors: Invalid) -> Message | None:
    if not isinstance(msg, dict):
        errors.add(where, "must be an object")
        return None
    sender, kind = msg.get("from"), msg.get("type")
    if not isinstance(sender, str) or not PHONE.fullmatch(sender):
        errors.add(f"{where}.from", "must be the sender's phone number (6-15 digits)")
        return None
    if kind == "text":
        text = msg.get("text", {}).get("body") if isinstance(msg.get("text"), dict) else None
        if not isinstance(text, str) or not text:
            errors.add(f"{where}.text.body", "a text message needs a non-empty body")
            return None
        return Message(sender, "text", text[:4096])
    if kind == "audio":
        audio = msg.get("audio")
        if not isinstance(audio, dict) or not isinstance(audio.get("id"), str):
            errors.add(f"{where}.audio.id", "an audio message needs the media id")
            return None
        return Message(sender, "audio")
    errors.add(f"{where}.type", f"{kind!r} is not supported (one of {', '.join(MESSAGE_TYPES)})")
    return None
