"""Which topics the kiosk may send: those every back office of version 1 understands, and
those its back office said it understands (docs/SYNC.md, "Growing the protocol").

A kiosk that holds unsent events of a topic beyond ``kiosk.wire.BASE_TOPICS`` asks the back
office ``GET /api/v1/capabilities`` before sending: a back office of version 1.0 answers 404
(it understands the base topics only), a newer one names its topics. The answer is kept and
asked again only while events still wait for a topic it did not name, at most once every
``max_age_s`` seconds, or after the back office refused a batch or ignored events (it may have
been replaced by an older one). Asking never stops the sending of the topics already known:
a failed question is logged and the events of the other topics go on waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

import httpx

from kiosk.sync.http import (
    MAX_BATCH_REPLY_BYTES,
    AnswerTooLarge,
    NoCompleteAnswer,
    fetch_answer,
)
from kiosk.wire import (
    BASE_CAPABILITIES,
    CAPABILITIES_PATH,
    Capabilities,
    ErrorReply,
    ProtocolError,
)

log = logging.getLogger(__name__)

CAPABILITIES_MAX_AGE_S = 300.0
"""Seconds an answer is trusted while events wait for a topic it did not name."""

_VERSION_1_0 = (404, 405)
"""The answers of a back office that predates the capabilities path."""


class TopicGate:
    """What the kiosk knows of its back office's topics, asked through ``client`` (an httpx
    client of ``kiosk.sync.http.make_client``) when events wait for one it did not name.

    ``minor``: the minor version the kiosk speaks; 0 (a kiosk of version 1.0) never asks and
    sends the base topics only. ``request_timeout_s``: the deadline of the question (seconds).
    ``max_age_s``: how long an answer stands while events wait. ``scrub`` blanks the token out
    of a logged sentence; ``monotonic`` is the clock of ``max_age_s`` (tests turn it).
    Not thread-safe: the relay asks within its passes, one at a time.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        minor: int,
        request_timeout_s: float,
        max_age_s: float = CAPABILITIES_MAX_AGE_S,
        scrub: Callable[[str], str] = str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._minor = minor
        self._request_timeout_s = request_timeout_s
        self._max_age_s = max_age_s
        self._scrub = scrub
        self._monotonic = monotonic
        self._known: Capabilities | None = None
        self._asked_at: float | None = None
        self._noted: frozenset[str] = frozenset()

    @property
    def capabilities(self) -> Capabilities:
        """What the back office is known to understand (the base topics until it said more)."""
        return self._known or BASE_CAPABILITIES

    def sendable(self, unsent: Collection[str]) -> frozenset[str]:
        """The topics a pass may send, given the topics of the ``unsent`` events: the known
        ones, after asking the back office (again) when some of ``unsent`` are not among them
        and the last answer is old enough. Logs once each topic that starts waiting."""
        understood = self.capabilities.topics
        waiting = frozenset(unsent) - understood
        if waiting and self._minor >= 1 and self._may_ask():
            understood = self._ask().topics
            waiting -= understood
        for topic in sorted(waiting - self._noted):
            log.info("sync: events of topic %r wait in the outbox until the back office says "
                     "it understands it; the other topics are sent meanwhile", topic)
        self._noted = waiting
        return understood

    def forget(self) -> None:
        """Distrust the last answer (the back office refused a batch or ignored events: it
        may have been replaced): the next pass with waiting events asks again."""
        self._known = None
        self._asked_at = None

    def _may_ask(self) -> bool:
        return self._asked_at is None or self._monotonic() - self._asked_at >= self._max_age_s

    def _ask(self) -> Capabilities:
        """Ask the back office; on failure keep what was known (and say why in the log)."""
        self._asked_at = self._monotonic()
        try:
            answer = fetch_answer(
                self._client, "GET", CAPABILITIES_PATH,
                deadline_s=self._request_timeout_s, max_bytes=MAX_BATCH_REPLY_BYTES,
            )
            if answer.status_code in _VERSION_1_0:
                found = BASE_CAPABILITIES
            elif answer.status_code == 200:
                found = Capabilities.decode(answer.content)
            else:
                reply = ErrorReply.decode(answer.content)
                raise ProtocolError(
                    reply.error, f"HTTP {answer.status_code}: {reply.error}: {reply.message}")
        except (NoCompleteAnswer, AnswerTooLarge, httpx.HTTPError, ProtocolError) as error:
            log.warning("sync: could not learn which topics the back office understands (%s); "
                        "events of other topics keep waiting",
                        self._scrub(str(error) or type(error).__name__)[:300])
            return self.capabilities
        self._known = found
        return found
