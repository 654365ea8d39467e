"""`hftpy sim --fault VENUE.FAULT[=VALUE]`: the help says what each fault's value is (a
probability, a count, a duration, a text), a fault taking both a count and a probability
reads either, and every parsed fault is one the running simulator accepts (issue 11)."""

from __future__ import annotations

import argparse

import pytest

from hftpy.sim import Simulator
from hftpy.sim.cli import add_arguments, faults_help, faults_table, parse_fault
from hftpy.sim.faults import Fault, FaultMixin, fault_table
from hftpy.sim.simulator import VENUE_FAULTS

# A value for each kind of parameter, as a user would type it.
EXAMPLES = {
    "seconds": "0.2",
    "count": "2",
    "rate": "0.05",
    "text": "garbage",
    "status": "429",
    "side": "ask",
    "code": "1012",
    "pongs": "false",
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("binance.skip_sequence=0.05", ("binance", "skip_sequence", {"rate": 0.05})),
        ("binance.skip_sequence=3", ("binance", "skip_sequence", {"count": 3})),
        ("binance.skip_sequence=1.0", ("binance", "skip_sequence", {"rate": 1.0})),
        ("backpack.skip_sequence=5%", ("backpack", "skip_sequence", {"rate": 0.05})),
        ("kraken.book_checksum=0.01", ("kraken", "book_checksum", {"rate": 0.01})),
        ("kraken.book_checksum=4", ("kraken", "book_checksum", {"count": 4})),
        (
            "kraken.skip_sequence=count=2,rate=0.5",
            ("kraken", "skip_sequence", {"count": 2, "rate": 0.5}),
        ),
        ("kraken.stall=2", ("kraken", "stall", {"seconds": 2.0})),
        ("kraken.stall=500ms", ("kraken", "stall", {"seconds": 0.5})),
        ("kraken.rate_limit=3", ("kraken", "rate_limit", {"count": 3})),
        ("upbit.reject_auth=2", ("upbit", "reject_auth", {"count": 2})),
        (
            "binance.rate_limit=seconds=5,status=418",
            ("binance", "rate_limit", {"seconds": 5.0, "status": 418}),
        ),
        ("binance.skew_clock=-1.5", ("binance", "skew_clock", {"seconds": -1.5})),
        ("kraken.malformed_frame=<html>", ("kraken", "malformed_frame", {"text": "<html>"})),
        ("binance.drop_connection", ("binance", "drop_connection", {})),
    ],
)
def test_values_are_read_by_kind(spec: str, expected: tuple[str, str, dict[str, object]]) -> None:
    assert parse_fault(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("binance.skip_sequence=1.5", "bad PROBABILITY '1.5'"),
        ("binance.skip_sequence=-1", "bad PROBABILITY '-1'"),
        ("kraken.rate_limit=0.5", "bad COUNT '0.5'"),
        ("kraken.stall=-1", "bad SECONDS '-1'"),
        ("kraken.stall=soon", "bad SECONDS 'soon'"),
        ("kraken.drop_connection=1", "takes no value"),
        ("binance.rate_limit=count=3", "takes no 'count'"),
        ("kraken.nonsense", "unknown kraken fault"),
        ("nowhere.stall=1", "not simulated"),
        ("stall", "expected VENUE.FAULT"),
    ],
)
def test_bad_values_are_refused_with_the_reason(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_fault(spec)


def test_help_names_each_faults_value() -> None:
    text = faults_help()
    for usage in (
        "binance: drop_connection, close=CODE, stall=SECONDS",
        "skip_sequence=PROBABILITY|COUNT",
        "book_checksum=PROBABILITY|COUNT",
        "rate_limit=COUNT",
        "malformed_frame=TEXT",
        "reject_auth=COUNT",
    ):
        assert usage in text
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    fault = next(a for a in parser._actions if a.dest == "fault")
    assert fault.help == text and "a whole number is a count" in text


async def test_every_parsed_fault_is_accepted_by_the_simulator() -> None:
    async with Simulator(ports="free", synthetic_flow=False) as sim:
        for venue, faults in VENUE_FAULTS.items():
            for fault, spec_ in faults.items():
                names = spec_.params
                if fault in ("drop_connection", "maintenance"):
                    continue  # harmless but noisy; parsed above
                spec = f"{venue}.{fault}"
                if names:
                    value = EXAMPLES[names[0]]
                    if {"rate", "count"} <= set(names):
                        value = EXAMPLES["rate"]
                    spec += f"={value}"
                parsed_venue, parsed_fault, params = parse_fault(spec)
                sim.inject(parsed_venue, parsed_fault, **params)
                sim.clear_faults()


def test_list_faults_describes_every_fault_of_every_venue() -> None:
    text = faults_table()
    for venue, faults in VENUE_FAULTS.items():
        assert f"{venue}:" in text
        for fault in faults.values():
            assert f"{venue}.{fault.usage}" in text
            assert fault.doc, f"{venue}.{fault.name} has no description"
            assert fault.doc in text


def test_a_listed_fault_without_a_handler_fails_at_class_creation() -> None:
    with pytest.raises(TypeError, match="without a handler: \\['jam'\\]"):

        class Venue(FaultMixin):
            FAULTS = fault_table(Fault("jam", ("seconds",), "jam"))


def test_inject_refuses_unknown_faults_and_parameters_with_what_it_takes() -> None:
    class Venue(FaultMixin):
        name = "demo"
        FAULTS = fault_table(Fault("jam", ("seconds",), "jam"))

        def __init__(self) -> None:
            self.jammed: list[float] = []

        def fault_jam(self, seconds: float = 1.0) -> None:
            self.jammed.append(seconds)

    venue = Venue()
    venue.inject("jam", seconds=2.0)
    assert venue.jammed == [2.0]
    with pytest.raises(ValueError, match="unknown demo fault 'stop'; known: jam"):
        venue.inject("stop")
    with pytest.raises(ValueError, match=r"takes no parameter \['count'\] \(it takes seconds\)"):
        venue.inject("jam", count=1)
