"""The kiosk's HTTP client for its back office: address rules, the bearer token, timeouts.

Both the outbox relay and the catalog pull talk to the back office through `make_client`, so
the rules live in one place: HTTPS only (plain HTTP only to this machine, for the reference
back office in tests and demos), no redirects (a redirect could carry the token elsewhere),
and a timeout on every call that is shorter than the watchdog allows a worker to be silent.
The token goes into the client's headers and nowhere else: never into a log, an error text or
the database.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from kiosk import __version__
from kiosk.sync.protocol import PROTOCOL_VERSION

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
"""Hosts plain ``http://`` may be used with: this machine only."""

MAX_REQUEST_TIMEOUT_S = 15.0
"""Every back-office call must time out before this (seconds): a sync thread stuck longer
would let its heartbeat go stale and the watchdog restart the kiosk."""

USER_AGENT = f"kiosk/{__version__} sync/{PROTOCOL_VERSION}"


def check_backoffice_url(url: str) -> None:
    """Raise ``ValueError`` unless ``url`` is an ``https://`` address, or an ``http://`` one to
    127.0.0.1, ::1 or localhost; an address with a user name or password is refused too
    (without repeating it: it may hold a secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ValueError(f"the back-office address {url!r} is not a web address") from None
    if "@" in parts.netloc:
        raise ValueError(
            "the back-office address must not carry a user name or password "
            "(the kiosk sends its token in a header)"
        )
    if not host or any(character.isspace() for character in url):
        raise ValueError(f"the back-office address {url!r} has no host name")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return
    if parts.scheme == "http":
        raise ValueError(
            f"the back-office address {url!r} uses plain http: only https:// is allowed "
            "(http:// only to 127.0.0.1, ::1 or localhost)"
        )
    raise ValueError(f"the back-office address {url!r} must start with https://")


def make_client(
    base_url: str,
    token: str,
    timeout_s: float,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for the back office at ``base_url`` that sends ``token`` as its
    bearer token and gives up on any call after ``timeout_s`` seconds (connect, read, write,
    pool: each).

    Raises ``ValueError`` when the address is refused by `check_backoffice_url`, the token is
    empty, or ``timeout_s`` is not between 0 and `MAX_REQUEST_TIMEOUT_S`. ``transport`` is for
    tests and benchmarks (``httpx.MockTransport`` is not used by the kiosk's own tests).
    """
    check_backoffice_url(base_url)
    if not token or any(character.isspace() for character in token):
        raise ValueError("the back-office token is empty or contains spaces")
    if not 0 < timeout_s < MAX_REQUEST_TIMEOUT_S:
        raise ValueError(
            f"a back-office call must time out within {MAX_REQUEST_TIMEOUT_S:g} s, "
            f"not {timeout_s!r} s"
        )
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        transport=transport,
    )
