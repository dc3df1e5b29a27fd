"""The sandbox's demo credentials: what its APIs accept unless ``LEADHUB_SANDBOX_*`` say otherwise.

Demo secrets, never real ones. Kept in this small module (no web stack) so the command line and
the connectors' sandbox declarations can name them without loading the server.
"""

from __future__ import annotations

#: Bearer tokens the Salesforce and HubSpot APIs accept, and the variables that replace them.
DEFAULT_SF_TOKEN = "SANDBOX-SF"
DEFAULT_HS_TOKEN = "pat-sandbox-hs"
SF_TOKEN_ENV = "LEADHUB_SANDBOX_SF_TOKEN"
HS_TOKEN_ENV = "LEADHUB_SANDBOX_HS_TOKEN"

#: The connected app and the user the Salesforce token endpoint accepts.
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_USERNAME = "integration@leadhub.example"  # the seeded integration user
DEFAULT_PASSWORD = "sandbox-password"
DEFAULT_SECURITY_TOKEN = "SANDBOXTOKEN"

#: The port ``leadhub run --with-sandbox`` and ``leadhub sandbox serve`` use by default.
DEFAULT_PORT = 8765
