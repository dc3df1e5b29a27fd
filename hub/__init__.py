"""LeadHub: a plugin-based integration hub that moves sales leads from inbound channels to CRMs."""

__version__ = "0.1.0"
