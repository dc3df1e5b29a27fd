"""Which callback URLs a partner may set: public https endpoints (loopback http only if allowed).

The hub POSTs to whatever URL a partner sets, so a careless rule turns the partner API into a
way to reach services on the hub's own machine or network (server-side request forgery). The
rule: ``https://`` with a dotted host name or a public IP address, no user name or password, no
fragment, at most :data:`MAX_URL_LENGTH` characters. Loopback hosts (``localhost``, 127.0.0.0/8,
``::1``) over http or https only when the connector allows them (``allow_loopback_callbacks``,
for local receivers and tests). Host names are not resolved here: a name that resolves to a
private address is not caught (see docs/partners.md).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
#: Host names the resolver would read as an IP address in another notation (127.1, 0x7f.0.0.1).
_NUMERIC_HOST = re.compile(r"^((0x[0-9a-f]*|[0-9]+)\.?)+$", re.IGNORECASE)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def check_callback_url(url: str, *, allow_loopback: bool) -> str:
    """``url`` if a partner may use it as a callback URL, else :class:`ValueError` saying why."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"the callback URL is longer than {MAX_URL_LENGTH} characters; use a shorter one")
    if not url or any(not 0x21 <= ord(c) <= 0x7E for c in url):
        raise ValueError("the callback URL must be plain ASCII without spaces (percent-encode other characters)")
    try:
        parts = urlsplit(url)
        _ = parts.port  # reading the port raises ValueError when it is not a number in range
    except ValueError:
        raise ValueError("the callback URL is not a valid URL; send e.g. https://example.com/hooks/leadhub") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("https", "http") or not host:
        raise ValueError("the callback URL must start with https:// and name a host")
    if _ip(host) is None and _NUMERIC_HOST.match(host):
        raise ValueError("write an IP address in the callback URL in full dotted form (e.g. 203.0.113.7)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the callback URL must not contain a user name or password; "
                         "check the X-LeadHub-Signature header instead")
    if parts.fragment:
        raise ValueError("the callback URL must not have a #fragment")
    if is_loopback(host):
        if not allow_loopback:
            raise ValueError("callback URLs on the hub's own machine (localhost, 127.x, ::1) are not accepted; "
                             "use your public https endpoint")
        return url
    if scheme != "https":
        raise ValueError("the callback URL must start with https:// (plain http is only for local test receivers)")
    ip = _ip(host)
    if ip is not None and not ip.is_global:
        raise ValueError("the callback URL points to a private, link-local or reserved address; "
                         "use your public https endpoint")
    if ip is None and "." not in host.strip("."):
        raise ValueError("the callback URL needs a fully qualified host name, e.g. hooks.example.com")
    return url
