"""Configuration and secrets: ``kiosk.toml`` validated into typed :class:`Settings`.

``load_settings(path)`` reads the file (default :data:`DEFAULT_CONFIG_PATH`), ``demo_settings``
builds the demo shop, ``load_secrets`` reads the Stripe key and back-office token from systemd
credentials or the environment. Anything wrong raises :class:`ConfigError`, which names the key,
the bad value and what is expected (the CLI exits with status 2).
"""

from kiosk.config.demo import demo_mapping, demo_settings
from kiosk.config.descriptions import setting_description
from kiosk.config.errors import ConfigError
from kiosk.config.loading import DEFAULT_CONFIG_PATH, load_settings, settings_from_mapping
from kiosk.config.secrets import (
    BACKOFFICE_TOKEN,
    STRIPE_API_KEY,
    Secrets,
    SecretStr,
    load_secrets,
)
from kiosk.config.settings import (
    BackofficeSettings,
    BarcodeSettings,
    CatalogSettings,
    DisplaySettings,
    FilePrinterSettings,
    LimitSettings,
    NetworkPrinterSettings,
    NoPrinterSettings,
    PathSettings,
    PaymentsSettings,
    PrinterSettings,
    RetentionSettings,
    ScannerSettings,
    SerialPrinterSettings,
    Settings,
    ShopSettings,
    StaffSettings,
    StripeSettings,
    TaxClassSettings,
    TaxSettings,
    TimeoutSettings,
    UsbPrinterSettings,
    VariableMeasureSettings,
    VirtualPrinterSettings,
)

__all__ = [
    "BACKOFFICE_TOKEN",
    "DEFAULT_CONFIG_PATH",
    "STRIPE_API_KEY",
    "BackofficeSettings",
    "BarcodeSettings",
    "CatalogSettings",
    "ConfigError",
    "DisplaySettings",
    "FilePrinterSettings",
    "LimitSettings",
    "NetworkPrinterSettings",
    "NoPrinterSettings",
    "PathSettings",
    "PaymentsSettings",
    "PrinterSettings",
    "RetentionSettings",
    "ScannerSettings",
    "SecretStr",
    "Secrets",
    "SerialPrinterSettings",
    "Settings",
    "ShopSettings",
    "StaffSettings",
    "StripeSettings",
    "TaxClassSettings",
    "TaxSettings",
    "TimeoutSettings",
    "UsbPrinterSettings",
    "VariableMeasureSettings",
    "VirtualPrinterSettings",
    "demo_mapping",
    "demo_settings",
    "load_secrets",
    "load_settings",
    "setting_description",
    "settings_from_mapping",
]
