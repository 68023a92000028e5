"""What the ``kiosk doctor`` tests share: shops in every state of health, real servers and
devices to check against, and reading the doctor's table back.

Everything is real: a SQLite database made by the store, ``kiosk hq serve`` processes, the
Stripe emulator, a pseudo-terminal as the scanner, the virtual printer on loopback, and a TLS
server whose certificate (made with the ``openssl`` command) is valid only from 2099, which
is what a kiosk whose clock is years behind sees of any real certificate.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cli_support import BASE_CONFIG, Shop, write_config

from kiosk.store.db import open_database
from kiosk.store.staff import StaffRole, StaffRoster

MANAGER_PIN = "482916"


def shop_config(
    directory: Path, *, extra: str = "", replace: dict[str, str] | None = None
) -> Shop:
    """Write the tests' base shop config into ``directory``, with ``replace`` applied to its
    text (old -> new) and the ``extra`` TOML appended; no database yet."""
    text = BASE_CONFIG
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return write_config(directory, text + extra)


def add_staff(shop: Shop, name: str, role: StaffRole, *, pin: str | None) -> int:
    """Add a staff member to the shop's database (created if needed) through the store;
    return their number."""
    db = open_database(shop.database)
    try:
        roster = StaffRoster(db)
        number = roster.add(name, role, datetime.now(UTC)).number
        if pin is not None:
            roster.set_pin(number, pin, datetime.now(UTC))
    finally:
        db.close()
    return number


def healthy_shop(directory: Path, *, extra: str = "", replace: dict[str, str] | None = None
                 ) -> Shop:
    """A shop with its database and one active manager with a PIN (virtual devices, the
    embedded Stripe emulator unless ``replace``/``extra`` say otherwise)."""
    shop = shop_config(directory, extra=extra, replace=replace)
    add_staff(shop, "Maria Manager", StaffRole.MANAGER, pin=MANAGER_PIN)
    return shop


def backoffice_table(url: str) -> str:
    """The ``[backoffice]`` table pointing at ``url``."""
    return f'\n[backoffice]\nurl = "{url}"\n'


def closed_port() -> int:
    """A loopback TCP port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True)
class Row:
    """One row of the doctor's table: its result, detail and hint (empty when none)."""

    status: str
    detail: str
    hint: str


def table_rows(output: str) -> dict[str, Row]:
    """Read the doctor's table back into rows by check name, using the header's columns."""
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("CHECK"))
    result_at = lines[header].index("RESULT")
    detail_at = lines[header].index("DETAIL")
    rows: dict[str, Row] = {}
    name = ""
    for line in lines[header + 1:]:
        if not line.strip():
            break
        if not line.startswith(" "):
            name = line[:result_at].strip()
            rows[name] = Row(line[result_at:detail_at].strip(), line[detail_at:], "")
        elif line[detail_at:].startswith("hint: "):
            row = rows[name]
            rows[name] = Row(row.status, row.detail, line[detail_at:].removeprefix("hint: "))
    return rows


_OPENSSL_CA = """\
[ca]
default_ca = here
[here]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
"""


def certificate_valid_from_2099(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 valid only in 2099, and its key (made with
    the ``openssl`` command: ``openssl ca`` is the one that takes a start date)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.txt").write_text("", encoding="utf-8")
    (directory / "serial").write_text("01\n", encoding="utf-8")
    (directory / "ca.cnf").write_text(_OPENSSL_CA, encoding="utf-8")
    key, request, certificate = directory / "key.pem", directory / "req.csr", directory / "cert.pem"
    for command in (
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(request), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        ["openssl", "ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", str(key),
         "-in", str(request), "-out", str(certificate),
         "-startdate", "20990101000000Z", "-enddate", "20991231000000Z"],
    ):
        done = subprocess.run(command, cwd=directory, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    return certificate, key


class _Answer(BaseHTTPRequestHandler):
    """Answers every GET and HEAD with 200 (only the TLS handshake matters here)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """200, empty."""
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        """200, empty."""
        self.do_GET()


@contextmanager
def tls_server(certificate: Path, key: Path) -> Iterator[str]:
    """An HTTPS server on loopback presenting ``certificate``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
