"""Latency statistics: what `ws_api.latency_stats()` and `stream.latency_stats()` return, and
the table `hftpy run` prints.

The histograms live in Rust (`hftpy._core.LatencyStats`, HDR histograms with 3 significant
digits, one per key); recording a sample costs one call and allocates nothing. Keys:

- `request:<method>` (WS APIs): request sent → venue reply received, monotonic ns, one
  sample per venue reply (a request answered per item gives one per item).
- `exch_to_recv:<channel>` (streams): the venue's event time (`exch_ns`) → our receive
  stamp (`recv_ns`), wall clock, so clock skew shows: a venue clock ahead of ours gives
  negative samples, counted in `negative` and kept out of the percentiles.
- `recv_to_handler:<channel>` (streams): receive stamp → just before the listeners run,
  monotonic ns (decode, book update and dispatch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hftpy._core import LatencyStats

__all__ = ["LatencyStats", "LatencySummary", "format_table", "summaries"]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """One key's latency samples, every value in int nanoseconds. The percentiles describe the
    `count` non-negative samples, each as the top of its bucket (exact below 2048 ns, within
    0.1% above); `min_ns` and `max_ns` are exact."""

    #: Non-negative samples: those the percentiles describe.
    count: int
    #: Median, ns.
    p50_ns: int
    #: 90th percentile, ns.
    p90_ns: int
    #: 99th percentile, ns.
    p99_ns: int
    #: 99.9th percentile, ns.
    p999_ns: int
    #: Largest sample, ns (exact).
    max_ns: int
    #: Smallest sample, ns (exact): the most negative one when `negative > 0`.
    min_ns: int
    #: Negative samples (clock skew), counted apart, not in the percentiles.
    negative: int


def summaries(stats: LatencyStats) -> dict[str, LatencySummary]:
    """`{key: LatencySummary}` for every key of `stats` with at least one sample."""
    return {name: LatencySummary(*values) for name, values in stats.summary().items()}


_COLUMNS = ("p50", "p90", "p99", "p99.9", "max")


def _us(ns: int) -> str:
    return f"{ns / 1000:.1f}"


def format_table(stats: Mapping[str, Mapping[str, LatencySummary]]) -> str:
    """A plain-text table, one row per key: source (e.g. `"kraken.ws_api"`), key, count, then
    p50 / p90 / p99 / p99.9 / max in µs with one decimal; a `neg` column (negative samples)
    is added when any row has one. Sources keep their order, keys are sorted within each."""
    rows: list[tuple[str, ...]] = []
    negatives = False
    for source, keys in stats.items():
        for key in sorted(keys):
            s = keys[key]
            negatives = negatives or s.negative > 0
            times = (s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns)
            rows.append((source, key, str(s.count), *map(_us, times), str(s.negative)))
    header = ("source", "key", "count", *(f"{c} µs" for c in _COLUMNS), "neg")
    width = len(header) if negatives else len(header) - 1
    table = [header[:width], *(row[:width] for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(width)]
    lines = []
    for row in table:
        left = [row[i].ljust(widths[i]) for i in range(2)]
        right = [row[i].rjust(widths[i]) for i in range(2, width)]
        lines.append("  ".join(left + right).rstrip())
    return "\n".join(lines)
