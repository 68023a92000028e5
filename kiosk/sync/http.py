"""The kiosk's HTTP client for its back office: address rules, the bearer token, deadlines.

Both the outbox relay and the catalog pull talk to the back office through `make_client`, so
the rules live in one place: HTTPS only (plain HTTP only to this machine, for the reference
back office in tests and demos), no redirects (a redirect could carry the token elsewhere),
and a limit on every call that is shorter than the watchdog allows a worker to be silent.
The token goes into the client's headers and nowhere else: never into a log, an error text or
the database.

httpx's timeouts are per network operation: a server that trickles one byte a second never
trips them. So every sync request goes through `fetch_answer`, which gives the whole request
(connecting, sending, the status line, the headers and the body) one deadline measured with
``time.monotonic``, and a size cap on the answer. The client `make_client` builds holds each
socket operation of such a request to the time left before its deadline (a network backend
that clamps every connect, read and write), so a trickle is cut off at the deadline, not at
the next byte; with an injected transport (benchmarks) the deadline is checked between the
chunks of the body only.
"""

from __future__ import annotations

import contextvars
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from kiosk import __version__
from kiosk.wire import MINOR_VERSION, PROTOCOL_VERSION

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
"""Hosts plain ``http://`` may be used with: this machine only."""

MAX_REQUEST_TIMEOUT_S = 15.0
"""Every back-office call must time out before this (seconds): a sync thread stuck longer
would let its heartbeat go stale and the watchdog restart the kiosk."""

USER_AGENT = f"kiosk/{__version__} sync/{PROTOCOL_VERSION}.{MINOR_VERSION}"

MAX_BATCH_REPLY_BYTES = 1024 * 1024
"""The largest answer to a batch the kiosk reads (bytes): a reply names at most 100 events."""
MAX_CATALOG_BYTES = 64 * 1024 * 1024
"""The largest catalog feed the kiosk reads (bytes)."""

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "kiosk_sync_deadline", default=None
)
"""``time.monotonic()`` by which the request running on this thread must be done."""


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
    bearer token and gives up on any network operation after ``timeout_s`` seconds (connect,
    read, write, pool: each); `fetch_answer` gives a whole request one deadline on it.

    Raises ``ValueError`` when the address is refused by `check_backoffice_url`, the token is
    empty, or ``timeout_s`` is not between 0 and `MAX_REQUEST_TIMEOUT_S`. ``transport`` is for
    tests and benchmarks (``httpx.MockTransport`` is not used by the kiosk's own tests); by
    default the client uses `deadline_transport`. Proxies named in the environment
    (``HTTPS_PROXY``) are not used: the kiosk talks to its back office directly.
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
        transport=transport if transport is not None else deadline_transport(),
    )


# ----------------------------------------------------------------------------- deadlines


def _time_left(late: type[Exception], timeout: float | None) -> float | None:
    """The timeout for one socket operation: ``timeout`` held to the time left before the
    deadline of the request on this thread; ``late`` (an httpcore timeout) once it passed."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the current request."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(httpcore.ReadTimeout, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(httpcore.WriteTimeout, timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, _time_left(httpcore.ConnectTimeout, timeout)
        ))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, with every operation held to the current request's deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(
            host, port, _time_left(httpcore.ConnectTimeout, timeout), local_address,
            socket_options,
        ))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(
            path, _time_left(httpcore.ConnectTimeout, timeout), socket_options
        ))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's HTTP/1.1 transport on `_DeadlineBackend` (TLS verified against certifi's
    roots, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as httpx does)."""

    def __init__(self) -> None:
        context = httpx.create_ssl_context()
        super().__init__(verify=context)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=4,
            max_keepalive_connections=2,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )


def deadline_transport() -> httpx.BaseTransport:
    """The transport of the back-office client: each socket operation of a request made
    through `fetch_answer` ends by that request's deadline."""
    return _DeadlineTransport()


@dataclass(frozen=True)
class Answer:
    """A complete answer from the back office: its status, headers and whole body."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class NoCompleteAnswer(Exception):
    """The back office gave no complete answer within the deadline (seconds: ``deadline_s``)."""

    def __init__(self, deadline_s: float) -> None:
        super().__init__(f"no complete answer within {deadline_s:g} s")
        self.deadline_s = deadline_s


class AnswerTooLarge(Exception):
    """The back office's answer is larger than the kiosk takes (bytes: ``max_bytes``)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"answer too large (over {max_bytes} bytes)")
        self.max_bytes = max_bytes


def fetch_answer(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    deadline_s: float,
    max_bytes: int,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """Send one request on ``client`` and read its whole answer within ``deadline_s`` seconds
    from now, at most ``max_bytes`` of body.

    Raises `NoCompleteAnswer` when the deadline passes first (any httpx timeout included),
    `AnswerTooLarge` when the body (or its declared length) is over ``max_bytes``: either way
    the connection is closed, never reused. Other network failures raise ``httpx.HTTPError``
    as httpx does.
    """
    deadline = time.monotonic() + deadline_s
    token = _DEADLINE.set(deadline)
    try:
        with client.stream(
            method, path, content=content, headers=headers, timeout=httpx.Timeout(deadline_s)
        ) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise AnswerTooLarge(max_bytes)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise AnswerTooLarge(max_bytes)
                if time.monotonic() > deadline:
                    raise NoCompleteAnswer(deadline_s)
                chunks.append(chunk)
            return Answer(response.status_code, response.headers, b"".join(chunks))
    except httpx.TimeoutException:
        raise NoCompleteAnswer(deadline_s) from None
    finally:
        _DEADLINE.reset(token)
