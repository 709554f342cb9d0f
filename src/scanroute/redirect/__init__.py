"""The scan path behind the edge: route cache, routing counters, and the scan handler."""
