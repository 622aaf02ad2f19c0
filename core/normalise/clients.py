"""ClientInfoString: which protocol or client family produced a record.

The string is `;`-separated `Key=Value` tokens; the first `Client=` token names the protocol
(formats.md 3.6), the rest is free text (a user agent, an app, an action). Context
comparison needs the exact string; triage needs the family: "is the attacker on OWA or on
a desktop client that can sync whole folders?".
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache


class ClientFamily(IntEnum):
    NONE = 0
    OWA = 1
    REST = 2
    MAPI = 3
    EWS = 4
    ACTIVESYNC = 5
    IMAP_POP = 6
    OUTLOOK_MOBILE = 7
    EXCHANGE_SERVICE = 8
    OTHER = 9


FAMILY_LABELS: dict[ClientFamily, str] = {
    ClientFamily.NONE: "",
    ClientFamily.OWA: "OWA",
    ClientFamily.REST: "REST",
    ClientFamily.MAPI: "MAPI",
    ClientFamily.EWS: "EWS",
    ClientFamily.ACTIVESYNC: "ActiveSync",
    ClientFamily.IMAP_POP: "IMAP/POP",
    ClientFamily.OUTLOOK_MOBILE: "Outlook mobile",
    ClientFamily.EXCHANGE_SERVICE: "Exchange service",
    ClientFamily.OTHER: "other",
}

_BY_CLIENT_TOKEN: dict[str, ClientFamily] = {
    "owa": ClientFamily.OWA,
    "rest": ClientFamily.REST,
    "restsystem": ClientFamily.REST,
    "msexchangerpc": ClientFamily.MAPI,
    "webservices": ClientFamily.EWS,
    "activesync": ClientFamily.ACTIVESYNC,
    "airsync": ClientFamily.ACTIVESYNC,
    "pop3/imap4": ClientFamily.IMAP_POP,
    "imap4": ClientFamily.IMAP_POP,
    "pop3": ClientFamily.IMAP_POP,
    "outlookservice": ClientFamily.OUTLOOK_MOBILE,
    # Internal Exchange services (decompiled ClientType map): not a person at a keyboard.
    "hub transport": ClientFamily.EXCHANGE_SERVICE,
    "tba": ClientFamily.EXCHANGE_SERVICE,
    "eba": ClientFamily.EXCHANGE_SERVICE,
    "elc": ClientFamily.EXCHANGE_SERVICE,
    "ci": ClientFamily.EXCHANGE_SERVICE,
    "msexchangemigration": ClientFamily.EXCHANGE_SERVICE,
    "transport": ClientFamily.EXCHANGE_SERVICE,
}

FAMILY_BY_LABEL: dict[str, ClientFamily] = {
    label.lower(): family for family, label in FAMILY_LABELS.items() if label
}


@lru_cache(maxsize=16384)
def parse_client_info(raw: str) -> tuple[ClientFamily, str]:
    """(family, free text) of a ClientInfoString; the free text omits the Client= token."""
    text = raw.strip()
    if not text:
        return ClientFamily.NONE, ""
    family: ClientFamily | None = None
    rest: list[str] = []
    for token in text.split(";"):
        token = token.strip()
        if not token:
            continue
        key, sep, value = token.partition("=")
        if sep and key.strip().lower() == "client" and family is None:
            family = _BY_CLIENT_TOKEN.get(value.strip().lower(), ClientFamily.OTHER)
            continue
        if sep and key.strip().lower() == "client":
            continue  # `Client=REST;Client=RESTSystem;`: the second token adds nothing
        rest.append(token)
    if family is None:
        # 2019-era OWA records carry a bare browser user agent instead of Client=OWA.
        family = ClientFamily.OWA if text.startswith("Mozilla/") else ClientFamily.OTHER
    return family, "; ".join(rest)


@lru_cache(maxsize=16384)
def client_family_code(raw: str) -> int:
    """The client family of a ClientInfoString as the index stores it (an int), cached
    apart so a chunk maps it in one C-level call a record."""
    return int(parse_client_info(raw)[0])
