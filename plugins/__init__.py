"""Built-in policy plugins: normalization, matching, scoring, qualification, routing, SLA.

Each is a plugin class listed as ``"module:Class"`` in ``hub.plugins.DEFAULT_PLUGINS``: every hub
registers an instance of its own, and ``hub_configure`` hands it that hub's settings, so two hubs
in one process never share a setting or a cache (no module here holds mutable state). A
third-party plugin can take any decision first because the built-ins register ``trylast``.
"""
