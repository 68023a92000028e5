"""Which card provider runs: ``[payments] provider`` names one of `PROVIDERS`.

Each entry names (as import paths, so nothing is imported until it is used) a factory that
builds the provider from the settings, the secrets, the store worker, the facade's
`PaymentEvents` and its clock, and a function giving the `ProviderOptions` the facade needs
before (or without) the provider running. `start_card_payments` is the facade's start-up step:
build, start, and settle what a stop left unfinished before any cart is restored.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.config import ConfigError, Secrets, Settings
from kiosk.payments.provider import (
    CardProvider,
    PaymentEvents,
    ProviderOptions,
    ProviderUnavailable,
)
from kiosk.payments.reports import RecoveryReport
from kiosk.store.worker import StoreWorker

log = logging.getLogger(__name__)

Simulator = Callable[[Path], tuple[Any, str]]
"""Starts a provider's simulated reader in a state directory: (the simulator, its reader id)."""

PROVIDER_KEY = "payments.provider"
"""The configuration key that picks the provider."""


@dataclass(frozen=True)
class ProviderEntry:
    """One card provider: ``factory`` and ``options`` as ``"module:function"`` paths.

    ``factory(settings, secrets, store, events, clock, simulator=...)`` returns a
    `CardProvider` (not started) or raises `ProviderUnavailable`; ``options(settings)``
    returns its `ProviderOptions` and must be cheap (no provider library loaded).
    """

    factory: str
    options: str


PROVIDERS: dict[str, ProviderEntry] = {
    "stripe": ProviderEntry(factory="kiosk.payments.stripe.setup:build",
                            options="kiosk.payments.stripe.setup:options"),
}
"""Every card provider the kiosk knows, by its ``[payments] provider`` name."""


def _entry(settings: Settings) -> ProviderEntry:
    name = settings.payments.provider
    entry = PROVIDERS.get(name)
    if entry is None:
        known = ", ".join(f'"{known}"' for known in sorted(PROVIDERS))
        raise ConfigError(f"unknown card provider; known: {known}", key=PROVIDER_KEY,
                          shown_value=f'"{name}"')
    return entry


def _load(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


def provider_options(settings: Settings) -> ProviderOptions:
    """The configured provider's `ProviderOptions` (`ConfigError` for an unknown one)."""
    options: ProviderOptions = _load(_entry(settings).options)(settings)
    return options


def build_provider(settings: Settings, secrets: Secrets, store: StoreWorker,
                   events: PaymentEvents, clock: Callable[[], datetime], *,
                   simulators: Mapping[str, Simulator] | None = None) -> CardProvider:
    """Build the configured provider, not started (`ConfigError` for an unknown name,
    `ProviderUnavailable` when it cannot run with this configuration).

    ``simulators`` (provider name -> how to start its simulated reader, see
    ``kiosk.sim.card_readers``) give a provider its twin when its configuration asks for it.
    """
    simulator = (simulators or {}).get(settings.payments.provider)
    provider: CardProvider = _load(_entry(settings).factory)(
        settings, secrets, store, events, clock, simulator=simulator)
    return provider


@dataclass(frozen=True)
class CardPaymentsStart:
    """What `start_card_payments` found: the running provider (or why there is none),
    the unfinished sales it had to check, and recovery's report."""

    provider: CardProvider | None
    unavailable_reason: str = ""
    unfinished: tuple[str, ...] = ()
    report: RecoveryReport | None = None


def start_card_payments(
    settings: Settings,
    secrets: Secrets,
    store: StoreWorker,
    events: PaymentEvents,
    clock: Callable[[], datetime],
    *,
    started: Callable[[CardProvider], None],
    checking: Callable[[], None],
    timeout_s: float,
    simulators: Mapping[str, Simulator] | None = None,
) -> CardPaymentsStart:
    """Build and start the configured provider, then settle unfinished payments.

    ``started(provider)`` is called as soon as the provider runs (the facade keeps it);
    ``checking()`` only when a payment was left unfinished, before recovery's first request
    ("Checking the last payment..."). ``timeout_s`` bounds the local read of unfinished
    payments; recovery's own budget is ``[timeouts] recovery_s``. ``simulators``: see
    `build_provider`.
    """
    try:
        provider = build_provider(settings, secrets, store, events, clock,
                                  simulators=simulators)
    except ProviderUnavailable as unavailable:
        return CardPaymentsStart(None, unavailable.reason)
    provider.start()
    started(provider)
    unfinished = provider.unfinished_sales(timeout_s)
    if unfinished:
        log.info("checking %d unfinished payment(s) with the card provider", len(unfinished))
        checking()
    report = provider.recover(settings.timeouts.recovery_s)
    return CardPaymentsStart(provider, unfinished=unfinished, report=report)
