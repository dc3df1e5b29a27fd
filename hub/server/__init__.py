"""The daemon's web side and workers: the ASGI app, background workers, Prometheus metrics."""
