"""The checks of the services the kiosk talks to: Stripe with its card reader, and the back office.

Neither check ever prints a secret: the Stripe key and the back-office token go into request
headers only, and Stripe's own error texts (which may quote part of a key) are not shown for
a refused key. Each gives up after `kiosk.doctor.context.NETWORK_TIMEOUT_S` seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from kiosk.config import BACKOFFICE_TOKEN, STRIPE_API_KEY
from kiosk.doctor.clock import FIX_THE_CLOCK
from kiosk.doctor.result import CheckResult, failed, passed, warned
from kiosk.doctor.web import clock_looks_wrong, fetch, network_reason
from kiosk.payments.stripe.failures import FailureKind, StripeFailure
from kiosk.sync.http import (
    MAX_CATALOG_BYTES,
    AnswerTooLarge,
    NoCompleteAnswer,
    make_client,
)
from kiosk.wire import CATALOG_PATH

if TYPE_CHECKING:
    from kiosk.doctor.context import DoctorContext

CARD_READER = "card reader"
BACK_OFFICE = "back office"

TOKEN_ACCEPTED = frozenset({200, 304, 404})
"""Answers to ``HEAD /api/v1/catalog`` that mean the token was accepted (404: the back office
has no catalog yet; the token is checked before that)."""

_READER_HINT_REGISTER = (
    "Register it with `kiosk reader register CODE --location tml_...` (the code is shown on "
    "the reader) and put the id it prints into [stripe] reader_id."
)


def _clock_failure(name: str, what: str, label: str) -> CheckResult:
    return failed(
        name,
        f"the clock looks wrong (TLS certificate {what}): {label}'s certificate is {what} by "
        "this kiosk's clock",
        FIX_THE_CLOCK,
    )


def check_card_reader(context: DoctorContext) -> CheckResult:
    """A Stripe key is configured, Stripe answers, and the reader exists and is online."""
    stripe = context.settings.stripe
    if stripe.api_base == "embedded":
        return passed(CARD_READER, "embedded Stripe emulator (test mode: no real payments)")
    key = context.secrets.stripe_api_key
    if key is None:
        return failed(
            CARD_READER,
            "no Stripe secret key: card payments are off",
            f"Put the key in /etc/kiosk/credentials/{STRIPE_API_KEY.credential}, then run "
            f"`sudo kiosk install-service` again (the service loads it with LoadCredential=), "
            f"or set the environment variable {STRIPE_API_KEY.environment_variable}.",
        )
    if not stripe.reader_id:
        return failed(CARD_READER, "[stripe] reader_id is not set", _READER_HINT_REGISTER)
    from kiosk.payments.stripe.api import StripeGateway, build_client  # loads stripe

    client = build_client(
        key.get_secret_value(),
        stripe.api_base,
        request_timeout_s=min(float(stripe.request_timeout_s), context.network_timeout_s),
        max_network_retries=0,
    )
    try:
        reader = StripeGateway(client).retrieve_reader(stripe.reader_id)
    except StripeFailure as failure:
        return _stripe_failure(failure, stripe.api_base, stripe.reader_id)
    label = f" ({reader['label']})" if reader.get("label") else ""
    status = reader.get("status")
    if status != "online":
        return failed(
            CARD_READER,
            f"Stripe answers, but reader {stripe.reader_id}{label} is {status or 'not online'}",
            "Switch the reader on and check its network (Wi-Fi or Ethernet; its settings "
            "screen shows the connection). It must reach Stripe over the internet.",
        )
    return passed(CARD_READER, f"Stripe answers; reader {stripe.reader_id}{label} is online")


def _stripe_failure(failure: StripeFailure, api_base: str, reader_id: str) -> CheckResult:
    wrong = clock_looks_wrong(failure)
    if wrong is not None:
        return _clock_failure(CARD_READER, wrong, "Stripe")
    if failure.kind is FailureKind.NOT_ALLOWED:
        return failed(
            CARD_READER,
            f"Stripe refused the API key (HTTP {failure.status})",
            "Check the key: a secret key (sk_live_..., sk_test_... in test mode) or a "
            "restricted key (rk_...) allowed to read Terminal readers and write "
            f"PaymentIntents, from the same Stripe account as the reader. Replace it in "
            f"/etc/kiosk/credentials/{STRIPE_API_KEY.credential}.",
        )
    if failure.kind is FailureKind.REJECTED:
        if failure.code == "resource_missing":
            return failed(
                CARD_READER,
                f"Stripe has no reader {reader_id} on this account",
                "Is the key from the account (and mode: live or test) the reader is registered "
                "in? " + _READER_HINT_REGISTER,
            )
        return failed(
            CARD_READER,
            f"Stripe refused to show reader {reader_id} (HTTP {failure.status}, "
            f"{failure.code or 'no code'})",
            _READER_HINT_REGISTER,
        )
    return failed(
        CARD_READER,
        f"Stripe unreachable at {api_base} ({network_reason(failure)})",
        "Check the network: this machine must reach api.stripe.com on port 443 (DNS, router, "
        "firewall, a proxy in the way). [stripe] api_base must be https://api.stripe.com.",
    )


def check_backoffice(context: DoctorContext) -> CheckResult:
    """The back office answers over HTTPS and accepts the kiosk's token; "sync is off"
    (a warning) when none is configured."""
    url = context.settings.backoffice.url
    kiosk_id = context.settings.kiosk_id
    if not url:
        return warned(
            BACK_OFFICE,
            "not configured: sync is off",
            "Set [backoffice] url if the shop has a back office (sales then reach it, and "
            "customers can take e-receipts).",
        )
    token = context.secrets.backoffice_token
    issue = (
        f"Issue one on the back office (`kiosk hq token add {kiosk_id}` for the reference "
        f"one) and put it in /etc/kiosk/credentials/{BACKOFFICE_TOKEN.credential} (then run "
        f"`sudo kiosk install-service` again) or {BACKOFFICE_TOKEN.environment_variable}."
    )
    if token is None:
        return failed(BACK_OFFICE, "no back-office token: sync cannot log in", issue)
    try:
        client = make_client(url, token.get_secret_value(), context.network_timeout_s)
    except ValueError as error:  # its messages never include the token
        return failed(BACK_OFFICE, str(error), "Fix [backoffice] url or the token. " + issue)
    try:
        answer = fetch(
            client, "HEAD", CATALOG_PATH, timeout_s=context.network_timeout_s,
            max_bytes=MAX_CATALOG_BYTES,
        )
    except (httpx.HTTPError, NoCompleteAnswer, AnswerTooLarge) as error:
        wrong = clock_looks_wrong(error)
        if wrong is not None:
            return _clock_failure(BACK_OFFICE, wrong, "the back office")
        return failed(
            BACK_OFFICE,
            f"unreachable at {url} ({network_reason(error)})",
            "Is the back office running, and is [backoffice] url right? Check the network "
            "between the kiosk and it (DNS, router, firewall). Sales wait on the kiosk and "
            "are sent when it answers again.",
        )
    return _backoffice_answer(url, kiosk_id, answer.status_code, issue)


def _backoffice_answer(url: str, kiosk_id: str, status: int, issue: str) -> CheckResult:
    """The verdict on the back office's HTTP ``status`` to the kiosk's ``HEAD`` of the catalog;
    ``issue`` says how to get a new token."""
    if status in TOKEN_ACCEPTED:
        return passed(BACK_OFFICE, f"{url} answers and accepts the token of kiosk {kiosk_id}")
    if status == 401:
        return failed(BACK_OFFICE, f"{url} refused the token (HTTP 401)",
                      "The token is wrong or was replaced. " + issue)
    if status == 403:
        return failed(BACK_OFFICE, f"{url} refused this kiosk (HTTP 403)",
                      f"The token must belong to kiosk {kiosk_id}. " + issue)
    if status == 405:
        return warned(
            BACK_OFFICE,
            f"{url} answers, but not to HEAD {CATALOG_PATH}: the token is not verified",
            "Check sync with `kiosk sync status` after the next sale.",
        )
    return failed(
        BACK_OFFICE,
        f"{url} answered HTTP {status} to HEAD {CATALOG_PATH}",
        "The back office is up but failing (5xx: its database or service); see its logs. "
        "Sales wait on the kiosk until it answers.",
    )
