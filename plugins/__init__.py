"""Built-in policy plugins: normalization, matching, scoring, routing, SLA.

Each module is an ordinary pluggy plugin listed in ``hub.plugins.DEFAULT_PLUGINS``; a third-party
plugin can take any decision first because the built-ins register ``trylast``.
"""
