"""The kiosk's systemd units and system files, shipped in the wheel as the package data of
``kiosk.systemd`` (read by ``kiosk/install/layout.py``). No code: see README.md here."""
