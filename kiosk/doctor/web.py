"""The doctor's small web toolkit: one bounded request, a server's clock, and why it failed.

Every request has one deadline for the whole exchange (`kiosk.sync.http.fetch_answer` on the
back office's deadline transport), follows no redirect and ignores proxy variables, like the
kiosk's own sync. `clock_looks_wrong` recognises the TLS failure a wrong clock causes (a
certificate "not yet valid" or "expired"), so the doctor reports the clock rather than a
network fault; `network_reason` says in a few words why a connection failed.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from kiosk.sync.http import USER_AGENT, Answer, deadline_transport, fetch_answer

MAX_PROBE_BYTES = 256 * 1024
"""The largest answer body (bytes) a clock probe reads."""

_NOT_YET_VALID = 9  # X509_V_ERR_CERT_NOT_YET_VALID
_EXPIRED = 10  # X509_V_ERR_CERT_HAS_EXPIRED
_CLOCK_TEXTS = {
    "certificate is not yet valid": "not yet valid",
    "certificate has expired": "expired",
}


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it was raised from or during, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def clock_looks_wrong(error: BaseException) -> str | None:
    """``"not yet valid"`` or ``"expired"`` when ``error`` comes from a TLS certificate that
    this machine's clock places outside its validity (the usual sign of a wrong clock, not of
    a network fault); ``None`` otherwise."""
    for cause in causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            if cause.verify_code == _NOT_YET_VALID:
                return "not yet valid"
            if cause.verify_code == _EXPIRED:
                return "expired"
        # Libraries that wrap the SSL error in text only (requests, under stripe).
        text = str(cause)
        for words, what in _CLOCK_TEXTS.items():
            if words in text:
                return what
    return None


def network_reason(error: BaseException) -> str:
    """A few words on why a request failed: "connection refused", "timed out", "host name
    not found", the TLS verification message, or the innermost error's message."""
    innermost: BaseException = error
    for cause in causes(error):
        innermost = cause
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not found (DNS)"
        if isinstance(cause, TimeoutError | httpx.TimeoutException):
            return "timed out"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted: {cause.verify_message}"
    text = str(innermost).strip() or type(innermost).__name__
    if "refused" in text.lower():
        return "connection refused"
    return text if len(text) <= 160 else text[:157] + "..."


def plain_client(base_url: str, timeout_s: float) -> httpx.Client:
    """A client for ``base_url`` without credentials, on the sync's deadline transport; each
    network operation gives up after ``timeout_s`` seconds."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        transport=deadline_transport(),
    )


def fetch(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    timeout_s: float,
    max_bytes: int = MAX_PROBE_BYTES,
) -> Answer:
    """Send one request on ``client`` (closed afterwards) and read its whole answer within
    ``timeout_s`` seconds, at most ``max_bytes`` of body. Raises ``httpx.HTTPError``,
    `kiosk.sync.http.NoCompleteAnswer` or `kiosk.sync.http.AnswerTooLarge`."""
    with client:
        return fetch_answer(client, method, path, deadline_s=timeout_s, max_bytes=max_bytes)


def date_header(answer: Answer) -> datetime | None:
    """The time in the answer's ``Date`` header (aware UTC), or ``None`` when it has none or
    it cannot be read."""
    value = answer.headers.get("Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None
