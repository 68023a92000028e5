"""Installing the kiosk as a systemd service: what goes where (`layout`) and the install and
uninstall themselves (`installer`), behind ``kiosk install-service`` and
``kiosk uninstall-service``."""

from kiosk.install.installer import (
    Done,
    InstallError,
    Outcome,
    Step,
    install_service,
    this_kiosk_command,
    uninstall_service,
)
from kiosk.install.layout import Layout

__all__ = [
    "Done",
    "InstallError",
    "Layout",
    "Outcome",
    "Step",
    "install_service",
    "this_kiosk_command",
    "uninstall_service",
]
