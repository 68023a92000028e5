"""What the tests of the ``kiosk`` command share: a shop's config file, running the real
console script as a subprocess (or in-process through click's CliRunner), a second process
holding the single-instance lock, and reading the products table with plain sqlite3.

Every path is under the test's ``tmp_path``; nothing touches /etc or /var/lib.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from kiosk.cli import cli

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CATALOG = REPO / "assets" / "catalog" / "sample.csv"
SAMPLE_PRODUCTS = 42
"""Data rows in ``assets/catalog/sample.csv``."""

SUBPROCESS_TIMEOUT_S = 60
"""Seconds a single ``kiosk`` run may take before the test fails (a guard, not an assertion)."""

# Variables of the developer's or CI's environment that would change what the command does.
_KIOSK_VARIABLES = (
    "KIOSK_CONFIG",
    "STATE_DIRECTORY",
    "CREDENTIALS_DIRECTORY",
    "KIOSK_STRIPE_API_KEY",
    "KIOSK_BACKOFFICE_TOKEN",
    "KIOSK_PIN_PEPPER",
    "KIOSK_AUDIT_KEY",
)

BASE_CONFIG = """\
kiosk_id = "lane-1"

[shop]
name = "Corner Shop"
address = ["1 High Street", "Springfield"]
currency = "EUR"
locale = "de_DE"
time_zone = "Europe/Berlin"

[tax]
mode = "inclusive"
rounding = "per_line"

[tax.classes.standard]
rate_percent = "19"
label = "VAT 19%"

[tax.classes.reduced]
rate_percent = "7"
label = "VAT 7%"

[[barcodes.variable_measure]]
prefixes = ["20", "21"]
item_digits = 5
value_digits = 5
price_check_digit = false
value = "price"

[scanner]
port = "virtual"

[printer]
transport = "virtual"

[stripe]
api_base = "embedded"
"""


def kiosk_executable() -> str:
    """The installed ``kiosk`` console script next to this interpreter."""
    found = shutil.which("kiosk", path=str(Path(sys.executable).parent))
    assert found is not None, f"no kiosk console script next to {sys.executable}"
    return found


@dataclass(frozen=True)
class Shop:
    """One test shop: its config file and its state directory (holding ``kiosk.db``)."""

    config: Path
    state_dir: Path

    @property
    def database(self) -> Path:
        """The shop's database file."""
        return self.state_dir / "kiosk.db"


def write_config(directory: Path, text: str = BASE_CONFIG, *, name: str = "kiosk.toml") -> Shop:
    """Write ``text`` plus a ``[paths]`` table pointing into ``directory`` as a config file."""
    state_dir = directory / "state"
    config = directory / name
    config.write_text(f'{text}\n[paths]\nstate_dir = "{state_dir}"\n', encoding="utf-8")
    return Shop(config=config, state_dir=state_dir)


def clean_environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the kiosk's own variables, with HOME and
    XDG_DATA_HOME under ``home`` (so the demo's default folder is never the user's), plus
    ``extra``."""
    environment = {k: v for k, v in os.environ.items() if k not in _KIOSK_VARIABLES}
    environment["HOME"] = str(home)
    environment["XDG_DATA_HOME"] = str(home / "xdg-data")
    environment["PYTHONPATH"] = str(REPO)
    environment.update(extra or {})
    return environment


def run_kiosk(
    args: list[str],
    *,
    home: Path,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``kiosk`` command with ``args``; ``stdin`` is piped in (no input: /dev/null)."""
    return subprocess.run(
        [kiosk_executable(), *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        env=clean_environment(home, env),
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )


def invoke(args: list[str], *, stdin: str | None = None) -> Result:
    """Run ``kiosk`` in this process through click's CliRunner (the fast path)."""
    unset: dict[str, str | None] = dict.fromkeys(_KIOSK_VARIABLES)
    return CliRunner().invoke(cli, args, input=stdin, env=unset, catch_exceptions=False)


def import_sample(shop: Shop) -> None:
    """Import the sample catalog into ``shop`` (in-process) and check that it worked."""
    result = invoke(["catalog", "import", "--config", str(shop.config), str(SAMPLE_CATALOG)])
    assert result.exit_code == 0, result.output


def product_count(database: Path) -> int:
    """Rows in the products table, read with plain sqlite3."""
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM products").fetchone()
    connection.close()
    return int(count)


def product_price(database: Path, code: str) -> int | None:
    """The stored price of product ``code`` in minor units, or None if there is no such row."""
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT price_minor FROM products WHERE code = ?", [code]
        ).fetchone()
    connection.close()
    return None if row is None else int(row[0])


_HOLD_THE_LOCK = """
import sys
from pathlib import Path
from kiosk.store.instance_lock import InstanceLock
with InstanceLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextmanager
def kiosk_running(state_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding the state directory's single-instance lock, as a running
    kiosk does, until the block ends (its stdin is then closed and it exits)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_LOCK, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        try:
            holder.wait(timeout=SUBPROCESS_TIMEOUT_S)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
            if holder.stdout is not None:
                holder.stdout.close()
