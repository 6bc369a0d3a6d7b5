"""Whether an address is this machine: the one rule that decides when a server needs a login (the chat UI, the
JSON API) and when an LLM endpoint counts as local."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback(address: str | None) -> bool:
    """True for a loopback host or a URL on one ('127.0.0.1', '::1', 'localhost', 'http://127.0.0.1:11434/v1').

    Decided from the text alone, without a DNS lookup: a name that could resolve elsewhere (or '0.0.0.0', every
    interface) is not loopback. An empty address is not loopback either: the caller must say where it listens."""
    host = (address or "").strip()
    if "://" in host:
        host = urlsplit(host).hostname or ""
    elif host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:  # host:port
        host = host.split(":", 1)[0]
    host = host.lower().rstrip(".")
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
