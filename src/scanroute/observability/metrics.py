"""Prometheus metrics of the scan path (per worker process).

The ones updated on every scan (redirects, cache hits, rule errors, latency) are lock-free
``loop_metrics`` updated by the event loop only; the rest are ``prometheus_client`` metrics.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from scanroute.observability.loop_metrics import LoopCounterFamily, LoopHistogram, register

redirects = LoopCounterFamily("scanroute_redirects", "Requests to codes by outcome.", "outcome")
rule_errors = LoopCounterFamily("scanroute_rule_errors", "Routing rules skipped because they were broken.")
cache_hits = LoopCounterFamily("scanroute_route_cache_hits", "Route-cache lookups answered from memory.")
cache_misses = Counter("scanroute_route_cache_misses_total", "Route-cache lookups that went to the store.")
cache_stale = Counter(
    "scanroute_route_cache_stale_total", "Lookups answered from the last-known-good snapshot."
)
spool_bytes = Gauge("scanroute_spool_bytes", "Scan bytes spooled but not yet in the store.")
spool_alarm = Gauge("scanroute_spool_alarm", "1 when the spool exceeds SCANROUTE_SPOOL_MAX_BYTES.")
spool_corrupt = Counter("scanroute_spool_corrupt_total", "Unreadable spool records skipped.")
drain_batch = Histogram(
    "scanroute_drain_batch_size", "Scans per drained batch.", buckets=(1, 10, 50, 100, 500, 1000, 5000, 10000)
)
drain_lag = Gauge("scanroute_drain_lag_seconds", "Age of the newest scan in the last drained batch.")
drain_errors = Counter("scanroute_drain_errors_total", "Drain attempts that failed (store unreachable …).")
store_up = Gauge("scanroute_store_up", "1 when the last drain reached the store.")
latency = LoopHistogram(
    "scanroute_redirect_seconds",
    "Time to answer a code request.",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)
register(redirects, rule_errors, cache_hits, latency)
