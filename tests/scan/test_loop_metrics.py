"""The lock-free hot-path metrics export what Prometheus expects."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from scanroute.observability.loop_metrics import LoopCounterFamily, LoopHistogram


def _scrape(*collectors: object) -> dict[str, float]:
    registry = CollectorRegistry()
    for c in collectors:
        registry.register(c)  # type: ignore[arg-type]
    lines = generate_latest(registry).decode().splitlines()
    return {
        name: float(v) for name, _, v in (line.rpartition(" ") for line in lines if not line.startswith("#"))
    }


def test_counters_by_label_and_plain() -> None:
    by_outcome = LoopCounterFamily("t_redirects", "doc", "outcome")
    plain = LoopCounterFamily("t_errors", "doc")
    by_outcome.labels("redirect").inc()
    by_outcome.labels("redirect").inc(2)
    by_outcome.labels("head")
    plain.inc(5)
    samples = _scrape(by_outcome, plain)
    assert samples['t_redirects_total{outcome="redirect"}'] == 3
    assert samples['t_redirects_total{outcome="head"}'] == 0
    assert samples["t_errors_total"] == 5


def test_histogram_buckets_are_cumulative_and_bounds_inclusive() -> None:
    h = LoopHistogram("t_seconds", "doc", (0.001, 0.01))
    for v in (0.0005, 0.001, 0.005, 0.5):
        h.observe(v)
    s = _scrape(h)
    assert s['t_seconds_bucket{le="0.001"}'] == 2  # 0.001 itself is "≤ 0.001"
    assert s['t_seconds_bucket{le="0.01"}'] == 3
    assert s['t_seconds_bucket{le="+Inf"}'] == 4
    assert s["t_seconds_count"] == 4
    assert abs(s["t_seconds_sum"] - 0.5065) < 1e-9
