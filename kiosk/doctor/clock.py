"""The clock check: is this kiosk's time right?

Card payments, receipts and TLS all depend on it, and a Raspberry Pi has no battery-backed
clock: after a boot without network it may start days in the past. The check asks
``timedatectl`` whether the clock is NTP-synchronised (``context.ntp_synchronised``, by default
:func:`kiosk.doctor.ntp.timedatectl_ntp_synchronised`; not available in containers: then
"unknown") and compares the kiosk's time with the ``Date`` header of the back office's or
Stripe's answer, whichever is configured and answers first. More than `CLOCK_TOLERANCE_S`
apart fails, whatever NTP says. A TLS failure caused by the clock (a certificate "not yet
valid" or "expired") is reported as a wrong clock, not as a network fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.doctor.result import CheckResult, failed, passed, warned
from kiosk.doctor.web import (
    clock_looks_wrong,
    date_header,
    fetch,
    network_reason,
    plain_client,
)
from kiosk.sync.http import check_backoffice_url

if TYPE_CHECKING:
    from kiosk.doctor.context import DoctorContext

NAME = "clock"

CLOCK_TOLERANCE_S = 60.0
"""Seconds the kiosk's clock may differ from a server's before the check fails."""

HEALTH_PATH = "/health"
"""The reference back office's cheap unauthenticated page; any answer carries a Date."""

STRIPE_PROBE_PATH = "/v1"
"""Asked without a key: Stripe answers (with an error) and a Date header."""

FIX_THE_CLOCK = (
    "Check that this machine reaches an NTP server (`timedatectl timesync-status`; the "
    "network must allow NTP, UDP port 123) or set the time by hand with `sudo timedatectl "
    "set-time 'YYYY-MM-DD HH:MM:SS'`. A Raspberry Pi has no battery-backed clock: it needs "
    "NTP after every boot (or an RTC module)."
)


def clock_servers(context: DoctorContext) -> list[tuple[str, str, str]]:
    """The servers whose clocks the kiosk can compare with, as (name, base URL, path):
    the back office first (when configured), then Stripe (unless it is the embedded
    emulator, which runs on this machine's own clock)."""
    settings = context.settings
    servers: list[tuple[str, str, str]] = []
    url = settings.backoffice.url
    if url:
        try:
            check_backoffice_url(url)
        except ValueError:
            pass  # the back office check reports the address
        else:
            servers.append(("the back office", url, HEALTH_PATH))
    if settings.stripe.api_base != "embedded":
        servers.append(("Stripe", settings.stripe.api_base, STRIPE_PROBE_PATH))
    return servers


def check_clock(context: DoctorContext) -> CheckResult:
    """NTP status and the offset from a server's Date header; see the module docstring."""
    ntp = context.ntp_synchronised()
    if ntp is None:
        ntp_text = "NTP status unknown (no timedatectl answer)"
    else:
        ntp_text = "NTP-synchronised" if ntp else "not NTP-synchronised"
    unanswered: list[str] = []
    for label, base_url, path in clock_servers(context):
        try:
            client = plain_client(base_url, context.network_timeout_s)
            answer = fetch(client, "GET", path, timeout_s=context.network_timeout_s)
        except Exception as error:  # any failure: try the next server
            wrong = clock_looks_wrong(error)
            if wrong is not None:
                return failed(
                    NAME,
                    f"the clock looks wrong (TLS certificate {wrong}): {label}'s "
                    f"certificate is {wrong} by this kiosk's clock, "
                    f"which says {context.now():%Y-%m-%d %H:%M:%S} UTC",
                    FIX_THE_CLOCK,
                )
            unanswered.append(f"{label} did not answer ({network_reason(error)})")
            continue
        server_time = date_header(answer)
        if server_time is None:
            unanswered.append(f"{label} sent no Date header")
            continue
        offset_s = (context.now() - server_time).total_seconds()
        if abs(offset_s) > CLOCK_TOLERANCE_S:
            direction = "ahead of" if offset_s > 0 else "behind"
            trust = (
                f" ({ntp_text}: if NTP is right, check {label}'s clock)" if ntp else ""
            )
            return failed(
                NAME,
                f"{abs(offset_s):.0f} s {direction} {label}'s clock "
                f"(more than {CLOCK_TOLERANCE_S:.0f} s){trust}",
                FIX_THE_CLOCK,
            )
        return passed(
            NAME, f"within {abs(offset_s):.0f} s of {label}'s clock; {ntp_text}"
        )
    nothing_to_compare = "; ".join(unanswered) or "no back office or Stripe to compare with"
    if ntp:
        return passed(NAME, f"{ntp_text} ({nothing_to_compare})")
    return warned(
        NAME,
        f"{'unknown: ' if ntp is None else ''}{ntp_text}, and {nothing_to_compare}",
        FIX_THE_CLOCK,
    )
