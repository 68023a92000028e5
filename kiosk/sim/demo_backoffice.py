"""The demo's back office: the reference ``kiosk hq`` server on loopback, in this process.

``kiosk demo`` starts it so the demo shows what a shop with a back office gets: paid sales,
refunds and audit rows synced in the background, and the QR code e-receipt after payment
(the page ``/r/<sale id>`` on this server). Its SQLite file lives in the demo's data folder;
each start issues the demo kiosk a fresh token (only its hash is stored), handed to the kiosk
in memory, never written to a file.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from kiosk.config import Secrets, SecretStr
from kiosk.hq.server import BackOfficeServer, make_server
from kiosk.hq.storage import HQStore
from kiosk.hq.stores import open_store
from kiosk.hq.tokens import new_token, token_hash

DEMO_BACKOFFICE_DB = "demo-backoffice.db"


class DemoBackOffice:
    """The reference back office serving the demo kiosk on 127.0.0.1 (a free port)."""

    def __init__(self, data_dir: Path, kiosk_id: str) -> None:
        self._store: HQStore = open_store(database=data_dir / DEMO_BACKOFFICE_DB)
        token = new_token()
        self._store.add_kiosk(kiosk_id, token_hash(token), datetime.now(UTC))
        self.secrets = Secrets(backoffice_token=SecretStr(token))
        """What the demo kiosk is given: its back-office token."""
        self._server: BackOfficeServer = make_server(self._store, host="127.0.0.1", port=0)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-backoffice", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The back office's base address, e.g. ``http://127.0.0.1:41234``."""
        return self._server.url

    def stop(self) -> None:
        """Stop serving and close its database."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)
        self._store.close()
