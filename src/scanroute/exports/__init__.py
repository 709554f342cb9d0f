"""Exports: scans, conversions, attribution credits and rollups as streamed CSV or Parquet."""
