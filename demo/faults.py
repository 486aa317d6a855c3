"""Fault injection for the simulated dependencies: error rate, added latency, outage.

Faults are what make the runbook's scenarios reproducible: a PMS outage opens the circuit
breaker and pages, added latency shows in the latency histogram, an error rate shows in the
dependency's error counter. They are set from command-line flags (``--fault pms:outage``) or
the authenticated ``POST /admin/faults`` endpoint, and read on every simulated call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: The simulated dependencies, by the short name the API and the flags use.
DEPENDENCIES = ("pms", "whatsapp", "gmail", "database", "audio_processor")

#: Short names accepted as aliases (the exporter's API accepts the same ones).
ALIASES = {"db": "database", "audio": "audio_processor", "pms_adapter": "pms"}


class FaultError(ValueError):
    """A fault specification that cannot be applied (unknown dependency, bad value)."""


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one dependency: each call fails with probability ``error_rate``,
    takes ``latency`` extra seconds, or, during an ``outage``, fails at once."""

    error_rate: float = 0.0
    latency: float = 0.0
    outage: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.error_rate, bool) or not 0.0 <= float(self.error_rate) <= 1.0:
            raise FaultError(f"error_rate must be a number from 0 to 1, got {self.error_rate!r}")
        if isinstance(self.latency, bool) or not 0.0 <= float(self.latency) <= 60.0:
            raise FaultError(f"latency must be 0 to 60 seconds, got {self.latency!r}")
        if not isinstance(self.outage, bool):
            raise FaultError(f"outage must be true or false, got {self.outage!r}")

    @property
    def healthy(self) -> bool:
        return self == Fault()

    def as_dict(self) -> dict[str, float | bool]:
        return asdict(self)


def canonical(name: str) -> str:
    """``db`` -> ``database``; raise FaultError for a dependency the demo does not have."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in DEPENDENCIES:
        raise FaultError(f"unknown dependency {name!r} (one of {', '.join(DEPENDENCIES)})")
    return key


class FaultTable:
    """The current fault of every dependency. Mutated and read in the event loop only."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = dict.fromkeys(DEPENDENCIES, Fault())

    def get(self, name: str) -> Fault:
        return self._faults[canonical(name)]

    def set(self, name: str, fault: Fault) -> None:
        self._faults[canonical(name)] = fault

    def clear(self) -> None:
        for name in self._faults:
            self._faults[name] = Fault()

    def snapshot(self) -> dict[str, dict[str, float | bool]]:
        return {name: f.as_dict() for name, f in self._faults.items()}


def parse_fault_flag(text: str) -> tuple[str, Fault]:
    """Parse a ``--fault`` flag: ``pms:outage``, ``whatsapp:error_rate=0.2,latency=0.5``.

    Raises FaultError with a message naming the flag, for argparse to print.
    """
    name, sep, rest = text.partition(":")
    if not sep or not rest:
        raise FaultError(f"--fault {text!r}: expected DEPENDENCY:SETTING[,SETTING], "
                         "e.g. pms:outage or gmail:error_rate=0.2,latency=0.5")
    values: dict[str, float | bool] = {}
    for item in rest.split(","):
        key, eq, raw = item.strip().partition("=")
        if key == "outage" and not eq:
            values["outage"] = True
        elif key in ("error_rate", "latency") and eq:
            try:
                values[key] = float(raw)
            except ValueError:
                raise FaultError(f"--fault {text!r}: {key} must be a number") from None
        else:
            raise FaultError(f"--fault {text!r}: unknown setting {item!r} "
                             "(outage, error_rate=X, latency=SECONDS)")
    return canonical(name), Fault(**values)  # type: ignore[arg-type]
