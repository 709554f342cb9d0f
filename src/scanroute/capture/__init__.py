"""Capture: the scan context from the ASGI scope, enrichment (user agent, bots, geo), privacy
(hashing, IP truncation), the durable spool and the drainer that moves scans into the store."""
