"""Analytics: KPIs, time series, breakdowns, funnels and attribution reports over the rollups.

``clock`` holds the local-time arithmetic every rollup key uses; ``query`` turns a window and
filters into SQL over the smallest rollup that can answer; ``report`` assembles KPIs; ``costs``
allocates campaign spend and print costs to windows; ``rebuild`` recomputes rollups from raw events.
"""
