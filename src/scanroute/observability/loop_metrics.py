"""Lock-free counters and a histogram for the redirect hot path, exported to Prometheus.

``prometheus_client`` takes a lock on every ``inc()``/``observe()``; the edge made five such
calls per scan. These are plain integers updated by the one thread that serves scans (the
event loop), read by a collector when ``/metrics`` is scraped. Do not update them from other
threads: ``+=`` on an attribute is not atomic across threads.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import REGISTRY, CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector


class LoopCounter:
    """A monotonically increasing integer (event-loop thread only)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        """Add ``amount`` (default 1)."""
        self.value += amount


class LoopCounterFamily(Collector):
    """Counters by one label, exported as ``<name>_total{<label>="…"}``."""

    def __init__(self, name: str, documentation: str, label: str | None = None) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self.children: dict[str, LoopCounter] = {}
        self._plain = LoopCounter()

    def labels(self, value: str) -> LoopCounter:
        """The counter of one label value (created at zero on first use)."""
        child = self.children.get(value)
        if child is None:
            child = self.children[value] = LoopCounter()
        return child

    @property
    def unlabelled(self) -> LoopCounter:
        """The unlabelled counter (its ``value`` may be incremented directly, from this thread)."""
        return self._plain

    def inc(self, amount: int = 1) -> None:
        """Add to the unlabelled counter."""
        self._plain.value += amount

    def collect(self) -> Iterator[Metric]:
        """The Prometheus samples (called by the registry at scrape time)."""
        if self.label is None:
            family = CounterMetricFamily(self.name, self.documentation, value=self._plain.value)
        else:
            family = CounterMetricFamily(self.name, self.documentation, labels=[self.label])
            for value, child in list(self.children.items()):
                family.add_metric([value], child.value)
        yield family


class LoopHistogram(Collector):
    """A histogram of seconds with fixed bucket bounds (event-loop thread only)."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = tuple(sorted(buckets))
        self.counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count one observation (a value equal to a bound belongs to that bound's bucket)."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def collect(self) -> Iterator[Metric]:
        """Cumulative buckets, count and sum, as Prometheus expects."""
        family = HistogramMetricFamily(self.name, self.documentation)
        counts, total, cumulative = list(self.counts), self.sum, []
        running = 0
        for bound, n in zip((*map(str, self.bounds), "+Inf"), counts, strict=True):
            running += n
            cumulative.append((bound, running))
        family.add_metric([], cumulative, sum_value=total)
        yield family


def register(*collectors: Collector) -> None:
    """Register collectors with the default registry (once per process)."""
    for collector in collectors:
        REGISTRY.register(collector)
