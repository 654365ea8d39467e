"""The fault registry: every fault a simulated venue can be told to produce, in one place.

A venue lists its faults as a table of `Fault`s (name, parameters, what it does); `FaultMixin`
checks `inject(name, **params)` against that table and calls the venue's `fault_<name>` method.
The CLI's `--fault` help and its value parsing are generated from the same tables, so a fault
cannot be listed without a handler or handled without being listed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol

from picows import WSCloseCode

__all__ = [
    "CLOSE",
    "DROP_CONNECTION",
    "DROP_REQUEST",
    "MAINTENANCE",
    "MALFORMED_FRAME",
    "MARKET_FAULTS",
    "ONLINE",
    "PARAMETERS",
    "REJECT_AUTH",
    "SKIP_SEQUENCE",
    "SLOW_SNAPSHOT",
    "SNAPSHOT_FAIL",
    "SNAPSHOT_FAULTS",
    "STALE_SNAPSHOT",
    "STALL",
    "ConnectionFaults",
    "Fault",
    "FaultMixin",
    "FaultTable",
    "Parameter",
    "PongGate",
    "RequestFaults",
    "answer_ping",
    "fault_table",
]


def _count(text: str) -> int:
    """A whole number of frames or requests, >= 0."""
    value = int(text)
    if value < 0:
        raise ValueError("a count is >= 0")
    return value


def _probability(text: str) -> float:
    """A fraction of frames in [0, 1] (`0.05`, `5%`)."""
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError("a probability lies in [0, 1]")
    return value


def _seconds(text: str) -> float:
    """A duration in seconds (`2`, `0.5`, `2s`, `500ms`)."""
    milliseconds = text.endswith("ms")
    value = float(text[:-2]) / 1000 if milliseconds else float(text.removesuffix("s"))
    if not math.isfinite(value):
        raise ValueError("a duration is finite")
    return value


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("a flag is true or false")


@dataclass(frozen=True, slots=True)
class Parameter:
    """A fault parameter: its placeholder in the help and how its command-line text is read."""

    placeholder: str
    read: Callable[[str], Any]


PARAMETERS: Final[Mapping[str, Parameter]] = MappingProxyType(
    {
        "seconds": Parameter("SECONDS", _seconds),
        "count": Parameter("COUNT", _count),
        "rate": Parameter("PROBABILITY", _probability),
        "text": Parameter("TEXT", str),
        "status": Parameter("STATUS", int),
        "side": Parameter("SIDE", str),
        "price": Parameter("PRICE", str),
        "qty": Parameter("QTY", str),
        "symbol": Parameter("SYMBOL", str),
        "pongs": Parameter("BOOL", _flag),
        "code": Parameter("CODE", int),
    }
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: its name, the keyword parameters it takes (the first is the CLI's `=VALUE`,
    except that a fault taking both `count` and `rate` reads a whole number as the count), and
    one line on what it does."""

    name: str
    params: tuple[str, ...] = ()
    doc: str = ""
    negative_seconds: bool = False  # a clock skew may run behind; durations may not

    def __post_init__(self) -> None:
        unknown = [p for p in self.params if p not in PARAMETERS]
        if unknown:
            raise ValueError(f"fault {self.name!r}: no parameter kind {unknown}")

    @property
    def usage(self) -> str:
        """`stall=SECONDS`, `skip_sequence=PROBABILITY|COUNT`, `drop_connection`."""
        if not self.params:
            return self.name
        if {"rate", "count"} <= set(self.params):
            return f"{self.name}=PROBABILITY|COUNT"
        return f"{self.name}={PARAMETERS[self.params[0]].placeholder}"

    def with_doc(self, doc: str) -> Fault:
        """The same fault described for one venue."""
        return Fault(self.name, self.params, doc, self.negative_seconds)


FaultTable = Mapping[str, Fault]


def fault_table(*groups: Fault | Iterable[Fault]) -> FaultTable:
    """A read-only name -> Fault table; a later fault of the same name replaces an earlier one."""
    table: dict[str, Fault] = {}
    for group in groups:
        for fault in [group] if isinstance(group, Fault) else group:
            table[fault.name] = fault
    return MappingProxyType(table)


# Faults many venues share; a venue may re-describe one with `with_doc`.
DROP_CONNECTION: Final = Fault(
    "drop_connection", (), "cut every socket at once, without a close frame"
)
STALL: Final = Fault(
    "stall",
    ("seconds", "pongs"),
    "freeze for SECONDS (default 5): requests are ignored and outgoing data is held, then sent "
    "in order; pongs=false also stops answering pings",
)
CLOSE: Final = Fault(
    "close",
    ("code",),
    "close every socket with a close frame of CODE (default 1001 going away; 1011 internal "
    "error, 1012 service restart, 1013 try again later), then disconnect",
)
MALFORMED_FRAME: Final = Fault("malformed_frame", ("text",), "send one frame of TEXT (not JSON)")
MAINTENANCE: Final = Fault(
    "maintenance", (), "the venue goes into maintenance: flow pauses, status says so"
)
ONLINE: Final = Fault("online", (), "back from maintenance")
SKIP_SEQUENCE: Final = Fault(
    "skip_sequence",
    ("count", "rate"),
    "never send the next COUNT sequenced diff frames, or that share of them (a sequence gap)",
)
SNAPSHOT_FAIL: Final = Fault(
    "snapshot_fail",
    ("count", "seconds"),
    "the next COUNT REST depth snapshots (or all for SECONDS) answer HTTP 503",
)
STALE_SNAPSHOT: Final = Fault(
    "stale_snapshot",
    ("count", "seconds"),
    "the next COUNT REST depth snapshots are 1000 update ids old (no buffered diff bridges them)",
)
REJECT_AUTH: Final = Fault(
    "reject_auth", ("count",), "the next COUNT signed requests or private connects fail auth"
)
DROP_REQUEST: Final = Fault(
    "drop_request",
    ("count",),
    "the next COUNT REST requests lose their connection before any answer (the venue may "
    "still have acted on them)",
)
SLOW_SNAPSHOT: Final = Fault(
    "slow_snapshot",
    ("seconds", "count"),
    "answer the next COUNT REST depth snapshots (all, by default, until cleared) SECONDS late",
)
MARKET_FAULTS: Final = (DROP_CONNECTION, CLOSE, STALL, MALFORMED_FRAME, MAINTENANCE, ONLINE)
SNAPSHOT_FAULTS: Final = (SNAPSHOT_FAIL, STALE_SNAPSHOT, SLOW_SNAPSHOT)


class FaultMixin:
    """`inject(name, **params)`: checked against `FAULTS`, then `fault_<name>(**params)`.

    Every fault in `FAULTS` must have its handler; a subclass that forgets one fails at import.
    `clear_faults()` undoes what lasts; subclasses extend it and call `super().clear_faults()`.
    """

    name: ClassVar[str] = ""  # the venue, in messages
    FAULTS: ClassVar[FaultTable] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in cls.FAULTS if not callable(getattr(cls, f"fault_{name}", None))]
        if missing:
            raise TypeError(f"{cls.__name__} lists faults without a handler: {missing}")

    def inject(self, fault: str, **params: Any) -> None:
        spec = self.FAULTS.get(fault)
        if spec is None:
            known = ", ".join(self.FAULTS)
            raise ValueError(f"unknown {self.name} fault {fault!r}; known: {known}")
        unknown = sorted(set(params) - set(spec.params))
        if unknown:
            takes = ", ".join(spec.params) or "nothing"
            raise ValueError(
                f"{self.name} fault {fault!r} takes no parameter {unknown} (it takes {takes})"
            )
        getattr(self, f"fault_{fault}")(**params)

    def clear_faults(self) -> None:
        """Undo every lasting fault."""


class RequestFaults(FaultMixin):
    """`reject_auth` / `drop_request` as counts of the next requests they hit."""

    _rejects_left = 0
    _drops_left = 0

    def fault_reject_auth(self, count: int = 1) -> None:
        self._rejects_left = int(count)

    def fault_drop_request(self, count: int = 1) -> None:
        self._drops_left = int(count)

    def take_reject_auth(self) -> bool:
        """True if this signed request (or private connect) is to fail auth."""
        if self._rejects_left > 0:
            self._rejects_left -= 1
            return True
        return False

    def take_drop_request(self) -> bool:
        """True if this REST request is to lose its connection unanswered."""
        if self._drops_left > 0:
            self._drops_left -= 1
            return True
        return False

    def clear_faults(self) -> None:
        super().clear_faults()
        self._rejects_left = 0
        self._drops_left = 0


class PongGate(Protocol):
    def answers_pings(self) -> bool: ...


def answer_ping(venue: PongGate, transport: Any, frame: Any) -> None:
    """A PING's PONG, sent by hand (the servers run without picows's auto-pong) so that a
    `stall` with pongs=false can withhold it."""
    if venue.answers_pings():
        transport.send_pong(frame.get_payload_as_bytes())


class ConnectionFaults(FaultMixin):
    """The faults of a venue's sockets: drop, stall (hold output, ignore input), garbage.

    The venue keeps its live connections in `self.connections`; each has a picows `transport`,
    `send(bytes)` (which must hold data while `stalled()`) and `release()` (send what it held).
    """

    MALFORMED_DEFAULT: ClassVar[str] = "<html><body>502 Bad Gateway</body></html>"
    STALL_DEFAULT_S: ClassVar[float] = 5.0
    connections: set[Any]
    _stalled_until: float = 0.0
    _pongs_stopped = False
    _release: asyncio.TimerHandle | None = None

    def fault_drop_connection(self) -> None:
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.disconnect(graceful=False)  # no close frame, like a cut cable

    def fault_close(self, code: int = 1001) -> None:
        close_code = WSCloseCode(int(code))
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.send_close(close_code)
                conn.transport.disconnect()

    def fault_stall(self, seconds: float | None = None, pongs: bool = True) -> None:
        duration = self.STALL_DEFAULT_S if seconds is None else float(seconds)
        self._stalled_until = time.monotonic() + duration
        self._pongs_stopped = not pongs

    def fault_malformed_frame(self, text: str | None = None) -> None:
        garbage = (self.MALFORMED_DEFAULT if text is None else str(text)).encode()
        for conn in list(self.connections):
            conn.send(garbage)

    def clear_faults(self) -> None:
        super().clear_faults()
        self._stalled_until = 0.0
        self._pongs_stopped = False
        self.release_held()

    def stalled(self) -> bool:
        return self._stalled_until != 0.0 and time.monotonic() < self._stalled_until

    def answers_pings(self) -> bool:
        """False while a `stall` with pongs=false lasts: pings go unanswered too."""
        return not (self._pongs_stopped and self.stalled())

    def release_later(self) -> None:
        """Send the held output once the stall is over."""
        if self._release is not None:
            return
        delay = max(0.0, self._stalled_until - time.monotonic())
        self._release = asyncio.get_running_loop().call_later(delay, self.release_held)

    def release_held(self) -> None:
        self._release = None
        if self.stalled():
            self.release_later()
            return
        for conn in list(self.connections):
            conn.release()

    def cancel_release(self) -> None:
        if self._release is not None:
            self._release.cancel()
            self._release = None
