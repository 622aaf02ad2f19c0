"""Client addresses, normalised so one machine is one value.

The same client appears as `203.0.113.7`, `203.0.113.7:51234`, `[2001:db8::7]:443`,
`::ffff:203.0.113.7` and upper-case IPv6 depending on the record type and the exporter
(formats.md 1.1). Grouping sessions and contexts by address needs one spelling; the record
as written stays available in the detail view.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=65536)
def normalise_address(raw: str) -> str:
    """Canonical address text: IPv4 dotted, IPv6 compressed lower case, ports dropped."""
    text = raw.strip()
    if not text:
        return ""
    if _is_dotted_quad(text):
        return text  # already as ipaddress writes it, read without it (~1 us against ~7 us)
    host = text
    if text.startswith("["):
        end = text.find("]")
        host = text[1:end] if end > 0 else text[1:]
    elif text.count(":") == 1:
        host = text.split(":", 1)[0]  # IPv4 (or a host name) with a port
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return text.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _is_dotted_quad(text: str) -> bool:
    """Whether `text` is an IPv4 address as ipaddress writes one: four numbers of 0-255 in
    ASCII digits, none with a leading zero."""
    parts = text.split(".")
    return len(parts) == 4 and all(
        part.isascii()
        and part.isdigit()
        and len(part) <= 3
        and (part == "0" or part[0] != "0")
        and int(part) <= 255
        for part in parts
    )
