"""HTTP adapters: the redirect edge (pure ASGI), the REST API and the dashboard."""
