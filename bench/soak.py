"""The whole-flow fault soak: real processes, random kills and faults, then every invariant.

Processes: the Stripe emulator (``kiosk.sim.stripe_emulator.serve`` with a state file), the
reference back office (``kiosk hq serve --faults``), the virtual printer (this script with
``--serve-printer``, a network printer on loopback) and the kiosk (`bench/soak_kiosk.py`: the
real facade ``kiosk.app.Kiosk`` driven headless, configured by a ``kiosk.toml`` like a shop's).

Each round starts the kiosk with a plan drawn from the seed: customers who approve, decline
(then pay with another card or cancel), walk away at the reader or cancel; a manager who
refunds paid sales in part or in full and sometimes taps twice. Before the round the emulator
gets faults from `EMULATOR_FAULTS` and the back office one from `BACKOFFICE_FAULTS` (down,
slow, answering 500, storing then dropping the answer). The round ends in a kill, one of:

- ``crashpoint``: ``KIOSK_CRASH_AT`` names a random point of `kiosk.payments.crashpoints`
  (its first or second pass): locking, capturing, recording paid, a refund requested or
  submitted...;
- ``timed``: SIGKILL at a random moment of the run (also during start-up's recovery, while
  scanning, waiting for the card, authorising, printing, with a sync batch in flight, in the
  idle spell after the plan);
- ``kill_pid_after``: the emulator kills the kiosk after Stripe acted, before it answers;

(a crash point or an emulator kill not reached in time becomes a timed kill: the kiosk idles
after its plan, so every round ends in a kill). Once ``--kills`` kills happened, the faults
are cleared and the kiosk restarts cleanly three times (the first run, the longest without a
kill, sells ``--final-customers`` sales while its memory and open descriptors are sampled; the
last idles ``--idle-window`` seconds while the emulator counts Stripe reads), then
``kiosk reconcile`` runs, ``kiosk sync run`` drains the outbox, and every check of
`FINAL_CHECKS` compares the emulator's objects, the kiosk's database, the back office's events
and the printer's jobs.

It prints its seed first. ``--seed`` replays a run: each round draws its plan, faults and
kill choice from ``seed:round``, so they are the same round by round. What a kill hits still
varies with the machine's speed, and so do the sales that a refund can choose from.
``--json`` prints one JSON object at the end. Exit 1 on any mismatch.

    .venv/bin/python bench/soak.py --kills 1000 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.config import demo_mapping, settings_from_mapping
from kiosk.hq.stores import open_store
from kiosk.hq.tokens import new_token, token_hash
from kiosk.payments.crashpoints import CRASHPOINTS
from kiosk.sim.demo_shop import DEMO_STAFF, prepare_demo
from kiosk.sim.stripe_emulator.faults import KINDS
from kiosk.store.db import open_database

BENCH = Path(__file__).resolve().parent
KIOSK_DRIVER = BENCH / "soak_kiosk.py"
KIOSK_ID = "soak"
API_KEY = "sk_test_soak"
RUN_GUESS_S = 1.0
CUSTOMER_GUESS_S = 1.0
"""A kiosk run's length before any clean run was timed: start-up plus each customer (s)."""
ROUND_IDLE_S = 60.0
"""Seconds a round's kiosk idles after its plan: it ends by a kill, never on its own."""
RUN_TIMEOUT_S = 90.0
"""A kiosk run still alive after this long is killed (and counted as a timed kill)."""
START_TIMEOUT_S = 30.0
"""Seconds a helper process may take to print its address."""

# Items without an age limit, so no attendant is needed (barcode: price in cents).
BELOW_CARD_MINIMUM = frozenset({"4006381333931"})
"""Items the card minimum (0.50 EUR) refuses on their own: not bought alone in the clean end."""
ITEMS = (
    "4006381333931",
    "5012345001012",
    "5012345001029",
    "5012345001036",
    "5012345001098",
    "5012345001104",
    "5012345001111",
    "5012345001128",
    "5012345001135",
    "5012345001142",
    "5012345001159",
    "5012345001166",
    "5012345001173",
)
CUSTOMER_KINDS = ("approve", "approve", "approve", "decline", "walk_away", "cancel")
"""Customer kinds, drawn with these weights."""

POSTS = {
    "create": r"^/v1/payment_intents$",
    "update": r"^/v1/payment_intents/pi_[^/]+$",
    "display": r"/set_reader_display$",
    "process": r"/process_payment_intent$",
    "cancel_action": r"/cancel_action$",
    "capture": r"/capture$",
    "cancel": r"/cancel$",
    "refund": r"^/v1/refunds$",
}
"""The Stripe POST paths a fault may hit (regex searched in the path)."""
READER_POSTS = ("display", "process", "cancel_action")

# --------------------------------------------------------------------- THE FAULT LIST (data)
# One line per emulator fault kind: how to arm it, given the random source and the kiosk's
# pid. A kind the emulator does not know (kiosk.sim.stripe_emulator.faults.KINDS) is skipped
# and listed under "faults_missing". (The request timeout of the kiosk is REQUEST_TIMEOUT_S.)
REQUEST_TIMEOUT_S = 2
FaultMaker = Callable[[random.Random, int], dict[str, Any]]
EMULATOR_FAULTS: dict[str, FaultMaker] = {
    "error_500_before": lambda r, _: {
        "path": POSTS[r.choice(list(POSTS))],
        "method": r.choice(["POST", "POST", "GET"]),
    },
    "error_500_after": lambda r, _: {"path": POSTS[r.choice(list(POSTS))]},
    "drop_after": lambda r, _: {"path": POSTS[r.choice(list(POSTS))]},
    "latency": lambda r, _: {
        "path": POSTS[r.choice(list(POSTS))],
        "method": r.choice(["POST", "GET"]),
        "seconds": REQUEST_TIMEOUT_S + 1.0,
    },
    "rate_limit_429": lambda r, _: {
        "path": POSTS[r.choice(list(POSTS))],
        "method": r.choice(["POST", "GET"]),
        "times": 2,
    },
    "reader_busy": lambda r, _: {"path": POSTS[r.choice(READER_POSTS)]},
    "reader_offline": lambda r, _: {"path": POSTS[r.choice(READER_POSTS)], "seconds": 2.0},
    "reader_timeout": lambda r, _: {"path": POSTS[r.choice(READER_POSTS)]},
    "reader_timeout_after_acting": lambda r, _: {"path": POSTS[r.choice(READER_POSTS)]},
    "stuck_action": lambda r, _: {"path": POSTS["process"]},
    "slow_authorisation": lambda r, _: {"path": POSTS["process"], "seconds": 3.0},
    "refund_pending": lambda r, _: {"path": POSTS["refund"], "seconds": 3.0},
    "kill_pid_after": lambda r, pid: {"path": POSTS[r.choice(list(POSTS))], "pid": pid},
    "act_then_refuse": lambda r, _: {"path": POSTS[r.choice(list(POSTS))], "seconds": 2.0},
}
BACKOFFICE_FAULTS: dict[str, dict[str, Any]] = {
    "down": {"down": True},
    "slow": {"delay_s": 3.0, "count": 3},
    "error_500": {"status": 500, "count": 3},
    "stored_then_dropped": {"drop": True, "after": True},
}
"""Back-office faults (``POST /_hq/faults`` of ``kiosk hq serve --faults``), by kind."""


def say(text: str) -> None:
    """A progress line on stderr (stdout is for the result)."""
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ processes


def kiosk_command() -> str:
    """The ``kiosk`` console script next to this interpreter."""
    found = shutil.which("kiosk", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(f"no kiosk console script next to {sys.executable}")
    return found


def first_line(process: subprocess.Popen[str], what: str) -> str:
    """The first stdout line of ``process`` (its address); the rest is drained on a thread."""
    assert process.stdout is not None
    lines: list[str] = []
    got = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not lines:
                lines.append(line.strip())
                got.set()
        got.set()

    threading.Thread(target=drain, daemon=True).start()
    if not got.wait(START_TIMEOUT_S) or not lines:
        process.kill()
        raise SystemExit(f"{what} did not start")
    return lines[0]


REFUSING_FOR_S = 15.0
"""How long a control request waits while the emulator refuses connections (its
``act_then_refuse`` fault closes its socket for a few seconds; a connection still waiting
in the closed socket is reset)."""


def control(url: str, method: str, body: Any = None) -> Any:
    """A JSON control request (emulator or back office); the decoded answer. Refused and
    reset connections are tried again for up to `REFUSING_FOR_S`."""
    data = None if body is None else json.dumps(body).encode()
    deadline = time.monotonic() + REFUSING_FOR_S
    while True:
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.URLError as error:
            refused = isinstance(error.reason, ConnectionRefusedError)
            if not refused or time.monotonic() > deadline:
                raise
        except ConnectionResetError:  # waiting in the listening socket when it was closed:
            if time.monotonic() > deadline:  # the request was never read, so never acted on
                raise
        time.sleep(0.2)


@dataclass
class World:
    """The helper processes and files of one soak."""

    folder: Path
    environment: dict[str, str]
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    stripe_url: str = ""
    hq_url: str = ""
    printer_port: int = 0
    reader_id: str = ""
    forks: ForkServer = field(init=False)

    @property
    def config(self) -> Path:
        """The kiosk's ``kiosk.toml``."""
        return self.folder / "kiosk.toml"

    @property
    def database(self) -> Path:
        """The kiosk's database."""
        return self.folder / "state" / "kiosk.db"

    def spawn(self, args: list[str], what: str) -> str:
        """Start a helper process; its first stdout line."""
        log = (self.folder / f"{what}.log").open("a", encoding="utf-8")
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            stdin=subprocess.DEVNULL,
            env=self.environment,
        )
        log.close()
        self.processes.append(process)
        return first_line(process, what)

    def start(self) -> None:
        """The emulator, the back office, the printer; the demo shop's database; the token."""
        state = self.folder / "stripe.json"
        self.stripe_url = self.spawn(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from kiosk.sim."
                "stripe_emulator import serve; serve(port=0, state_path=Path(sys.argv[1]))",
                str(state),
            ],
            "emulator",
        )
        self.reader_id = control(f"{self.stripe_url}/_emulator/readers", "POST", {"label": "soak"})[
            "id"
        ]
        line = self.spawn(
            [
                kiosk_command(),
                "hq",
                "serve",
                "--port",
                "0",
                "--db",
                str(self.folder / "hq.db"),
                "--faults",
            ],
            "hq",
        )
        self.hq_url = line.rsplit(" ", 1)[-1]
        self.printer_port = int(
            self.spawn(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--serve-printer",
                    str(self.folder / "printer"),
                ],
                "printer",
            )
        )
        token = new_token()
        with open_store(database=self.folder / "hq.db") as store:
            store.add_kiosk(KIOSK_ID, token_hash(token), datetime.now(UTC))
        self.environment["KIOSK_BACKOFFICE_TOKEN"] = token
        self.write_config("automatic")
        settings = settings_from_mapping(self.mapping("automatic"), "soak settings")
        db = open_database(self.database)
        prepare_demo(db, settings, now=datetime.now(UTC), work_dir=self.folder)
        db.close()
        self.forks = ForkServer(self)

    def mapping(self, capture: str) -> dict[str, Any]:
        """The kiosk's settings: the demo shop on the soak's processes, short timers."""
        shop = demo_mapping(self.folder / "state", self.hq_url)
        shop["kiosk_id"] = KIOSK_ID
        shop["stripe"] = {
            "api_base": self.stripe_url,
            "reader_id": self.reader_id,
            "capture": capture,
            "request_timeout_s": REQUEST_TIMEOUT_S,
            "poll_interval_ms": 100,
        }
        shop["printer"] = {
            "transport": "network",
            "host": "127.0.0.1",
            "port": self.printer_port,
            "retry_window_s": 30,
        }
        shop["timeouts"] = {
            "payment_idle_s": 10,
            "authorisation_wait_s": 8,
            "payment_max_s": 30,
            "recovery_s": 10,
            "idle_prompt_after_s": 5,
            "idle_abandon_after_s": 5,
            "receipt_choice_s": 5,
        }
        return shop

    def write_config(self, capture: str) -> None:
        """Write ``kiosk.toml`` with ``capture`` (automatic or manual)."""
        self.config.write_text(toml_text(self.mapping(capture)), encoding="utf-8")

    def stop(self) -> None:
        """Stop the helper processes (SIGTERM, then SIGKILL)."""
        if hasattr(self, "forks"):
            self.forks.stop()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kiosk_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``kiosk ARGS --config kiosk.toml`` to the end."""
        return subprocess.run(
            [kiosk_command(), *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=self.environment,
            timeout=300,
            check=False,
        )

    def clear_faults(self) -> None:
        """Disarm every emulator and back-office fault."""
        control(f"{self.stripe_url}/_emulator/faults", "DELETE")
        control(f"{self.hq_url}/_hq/faults", "DELETE")


def toml_text(data: dict[str, Any], prefix: str = "") -> str:
    """``data`` as TOML: scalars, lists of scalars, tables, arrays of tables (enough here)."""
    scalars, tables = [], []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            tables.append(f"\n[{name}]\n" + toml_text(value, f"{name}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables += [f"\n[[{name}]]\n" + toml_text(item, f"{name}.") for item in value]
        else:
            scalars.append(f"{key} = {json.dumps(value)}\n")
    return "".join(scalars) + "".join(tables)


def serve_printer(folder: Path) -> None:
    """The virtual printer as its own process: print its port, serve until SIGTERM."""
    from kiosk.sim.virtual_printer import VirtualPrinter

    printer = VirtualPrinter(folder, kept=20)
    _host, port = printer.start()
    print(port, flush=True)
    finished = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: finished.set())
    finished.wait()
    printer.stop()


# ------------------------------------------------------------------------------- the rounds


@dataclass
class Tally:
    """What the rounds did, for the report."""

    rounds: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    killed_at: Counter[str] = field(default_factory=Counter)
    """The kiosk's last reported step at each kill."""
    crash_points: Counter[str] = field(default_factory=Counter)
    """The crash points that killed the kiosk."""
    faults: Counter[str] = field(default_factory=Counter)
    clean_exits: int = 0
    failed_exits: int = 0
    durations: list[float] = field(default_factory=list)
    """Seconds from the fork to the end of the plan (the idle step), of runs that got there."""

    @property
    def total_kills(self) -> int:
        """Every kill of the kiosk, whatever did it."""
        return sum(self.kills.values())


def local_rows(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of the kiosk's database, read on a read-only connection of our own."""
    if not database.exists():
        return []
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def refundable(database: Path) -> list[tuple[str, int]]:
    """Paid sales with something left to refund: (sale id, minor units left)."""
    rows = local_rows(
        database,
        (
            "SELECT s.id, a.captured_minor - COALESCE((SELECT SUM(r.amount_minor) FROM refunds r "
            "WHERE r.sale_id = s.id AND r.state != 'failed'), 0) FROM sales s "
            "JOIN payment_attempts a ON a.sale_id = s.id WHERE s.state = 'paid'"
        ),
    )
    return [(sale_id, int(left)) for sale_id, left in rows if left and left > 0]


def plan_for(rng: random.Random, database: Path, customers: int) -> dict[str, Any]:
    """A round's plan: customers, refunds of paid sales, what a restored cart does."""
    people = [
        {
            "kind": rng.choice(CUSTOMER_KINDS),
            "items": [rng.choice(ITEMS) for _ in range(rng.randint(1, 3))],
            "receipt": rng.choice(["print", "print", "none", "qr"]),
            "then": rng.choice(["pay", "cancel"]),
        }
        for _ in range(customers)
    ]
    refunds = []
    candidates = refundable(database)
    if candidates and rng.random() < 0.5:
        sale_id, left = rng.choice(candidates)
        amount = None if rng.random() < 0.4 or left < 2 else rng.randint(1, left - 1)
        refunds.append({"sale_id": sale_id, "amount": amount, "twice": rng.random() < 0.3})
    rng.shuffle(people)
    return {
        "restored": rng.choice(["pay", "cancel"]),
        "customers": people,
        "refunds": refunds,
        "idle_s": ROUND_IDLE_S,
    }


def arm_faults(
    world: World, rng: random.Random, pid: int, tally: Tally, kill_by_emulator: bool
) -> None:
    """Arm this round's faults: up to two of the emulator's, maybe one of the back office."""
    known = [kind for kind in EMULATOR_FAULTS if kind in KINDS and kind != "kill_pid_after"]
    chosen = rng.sample(known, rng.choice([0, 1, 1, 2]))
    if kill_by_emulator:
        chosen.append("kill_pid_after")
    armed = [{"kind": kind, **EMULATOR_FAULTS[kind](rng, pid)} for kind in chosen]
    if armed:
        control(f"{world.stripe_url}/_emulator/faults", "POST", armed)
    tally.faults.update(f"stripe:{kind}" for kind in chosen)
    if rng.random() < 0.4:
        kind = rng.choice(list(BACKOFFICE_FAULTS))
        control(f"{world.hq_url}/_hq/faults", "POST", BACKOFFICE_FAULTS[kind])
        tally.faults[f"backoffice:{kind}"] += 1


class ForkServer:
    """`bench/soak_kiosk.py --fork-server`: forks kiosk processes on order, reports exits."""

    def __init__(self, world: World) -> None:
        log = (world.folder / "fork-server.log").open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, str(KIOSK_DRIVER), "--fork-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=world.environment,
        )
        log.close()
        self._changed = threading.Condition()
        self._pids: list[int] = []
        self._exits: dict[int, int] = {}
        self._ready = False
        threading.Thread(target=self._read, daemon=True).start()
        with self._changed:
            if not self._changed.wait_for(lambda: self._ready, START_TIMEOUT_S):
                raise SystemExit("the kiosk fork server did not start")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            with self._changed:
                if "ready" in message:
                    self._ready = True
                elif "pid" in message:
                    self._pids.append(int(message["pid"]))
                else:
                    self._exits[int(message["exit"])] = int(message["code"])
                self._changed.notify_all()

    def fork(self, order: dict[str, Any]) -> int:
        """Fork a kiosk process for ``order``; its pid."""
        assert self.process.stdin is not None
        with self._changed:
            seen = len(self._pids)
            self.process.stdin.write(json.dumps(order) + "\n")
            self.process.stdin.flush()
            if not self._changed.wait_for(lambda: len(self._pids) > seen, START_TIMEOUT_S):
                raise SystemExit("the kiosk fork server stopped answering")
            return self._pids[seen]

    def wait(self, pid: int, timeout_s: float) -> int | None:
        """The exit code of kiosk process ``pid``, or None while it runs after ``timeout_s``."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits, timeout_s)
            return self._exits.get(pid)

    def stop(self) -> None:
        """End the fork server (its stdin closes)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class KioskRun:
    """One kiosk process, forked with a plan; its step lines (a file) read on demand."""

    count = 0

    def __init__(self, world: World, plan: dict[str, Any], crash_at: str | None) -> None:
        environment = dict(world.environment)
        environment["SOAK_MANAGER_PIN"] = DEMO_STAFF[1].pin
        if crash_at:
            environment["KIOSK_CRASH_AT"] = crash_at
        KioskRun.count += 1
        self.steps_path = world.folder / "runs" / f"{KioskRun.count}.jsonl"
        self.steps_path.parent.mkdir(exist_ok=True)
        self.server = world.forks
        self.started_at = time.monotonic()
        self.forked_at = time.time()
        self.pid = self.server.fork(
            {
                "config": str(world.config),
                "plan": plan,
                "environment": environment,
                "stdout": str(self.steps_path),
                "stderr": str(world.folder / "kiosk.log"),
            }
        )

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The steps the process reported so far."""
        try:
            text = self.steps_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue  # a line cut by the kill
        return found

    @property
    def last_step(self) -> str:
        """The step the process reported last (``spawned`` before any)."""
        steps = self.steps
        return str(steps[-1]["step"]) if steps else "spawned"

    def seen(self, step: str) -> bool:
        """Whether the process reported ``step``."""
        return any(item.get("step") == step for item in self.steps)

    def running(self) -> bool:
        """Whether the process has not ended yet."""
        return self.server.wait(self.pid, 0) is None

    def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None if it still runs after ``timeout_s``."""
        return self.server.wait(self.pid, timeout_s)

    def kill(self) -> None:
        """SIGKILL the kiosk and wait until it is reaped."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.wait(30)


def one_round(world: World, rng: random.Random, tally: Tally, customers: int) -> None:
    """Start the kiosk with a fresh plan and faults; end the run with a kill: at a crash point,
    by the emulator after Stripe acted, or at a random moment (also the fallback of the other
    two when the run does not reach their moment)."""
    world.clear_faults()
    capture = rng.choice(["automatic", "manual"])
    world.write_config(capture)
    plan = plan_for(rng, world.database, customers)
    how = rng.choices(["crashpoint", "timed", "emulator"], [50, 40, 10])[0]
    crash_at = None
    if how == "crashpoint":
        crash_at = f"{rng.choice(reachable_points(plan, capture))}#{rng.choice([1, 1, 2])}"
    expected = statistics_median(tally.durations) or RUN_GUESS_S + customers * CUSTOMER_GUESS_S
    kill_after = rng.uniform(0.1, expected * 1.1)
    run = KioskRun(world, plan, crash_at)
    arm_faults(world, rng, run.pid, tally, how == "emulator")
    code = run.wait(kill_after if how == "timed" else expected * 1.2)
    steps = run.steps
    step = str(steps[-1]["step"]) if steps else "spawned"
    tally.durations += [item["at"] - run.forked_at for item in steps if item["step"] == "idle"]
    if code is None:
        run.kill()
        code = -signal.SIGKILL
        how = "timed"
    tally.rounds += 1
    if code == -signal.SIGKILL:
        tally.kills[{"emulator": "kill_pid_after"}.get(how, how)] += 1
        tally.killed_at[step] += 1
        if how == "crashpoint" and crash_at:
            tally.crash_points[crash_at.partition("#")[0]] += 1
    elif code == 0:
        tally.clean_exits += 1
    else:
        tally.failed_exits += 1
        say(f"kiosk run exited {code} at step {step}: see {world.folder / 'kiosk.log'}")


def reachable_points(plan: dict[str, Any], capture: str) -> list[str]:
    """The crash points this round's plan may pass: the payment's always; capture's with
    manual capture; a refund's when the plan refunds (the rest pass only after errors)."""
    words = [
        "locked",
        "display",
        "create",
        "intent_created",
        "processing",
        "process",
        "paid",
        "returned",
        "cancel_action",
        "abandoned",
        "cancel",
        "intent_status",
        "create_key",
        "update",
        "new",
    ]
    if capture == "manual":
        words += ["authorised", "capture_key", "capture"]
    if plan["refunds"]:
        words += [
            "refund",
            "refund_requested",
            "refund_submitted",
            "refund_succeeded",
            "refund_failed",
        ]
    return [point for point in CRASHPOINTS if point.split(":", 1)[1] in words]


def statistics_median(values: list[float]) -> float:
    """The median of ``values`` (0 for none)."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


# -------------------------------------------------------------------------- the clean end


@dataclass
class Endurance:
    """The kiosk's memory (KiB) and open descriptors sampled across one run without a kill."""

    seconds: float = 0.0
    rss_kib: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)

    def sample(self, pid: int) -> None:
        """Read ``/proc/<pid>`` once (nothing if the process is gone)."""
        try:
            status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                self.rss_kib.append(int(line.split()[1]))
                self.fds.append(fds)

    def to_json(self) -> dict[str, Any]:
        """First, last and highest sample of each, and the run's length."""

        def figures(values: list[int]) -> dict[str, int | None]:
            return {
                "first": values[0] if values else None,
                "last": values[-1] if values else None,
                "max": max(values) if values else None,
            }

        return {
            "seconds": round(self.seconds, 1),
            "samples": len(self.rss_kib),
            "rss_kib": figures(self.rss_kib),
            "open_fds": figures(self.fds),
        }


def clean_run(
    world: World,
    plan: dict[str, Any],
    endurance: Endurance | None = None,
    steps: list[dict[str, Any]] | None = None,
    marks: dict[str, tuple[float, int]] | None = None,
) -> int:
    """One kiosk run without faults or kills to its clean close; its exit code. With
    ``endurance``, memory and descriptors are sampled once the kiosk has started; ``marks``
    gets (time, Stripe requests so far) when the ``idle`` and ``closing`` steps show;
    ``steps`` gets the run's steps."""
    run = KioskRun(world, plan, None)
    started = None
    guard_s = RUN_TIMEOUT_S * 4 + float(plan.get("idle_s", 0))  # (the idle window counts)
    while run.running() and time.monotonic() - run.started_at < guard_s:
        if endurance is not None and run.seen("started") and not run.seen("closing"):
            started = started or time.monotonic()
            endurance.sample(run.pid)
        for step in ("idle", "closing"):
            if marks is not None and step not in marks and run.seen(step):
                marks[step] = (time.monotonic(), len(stripe_reads(world)))
        time.sleep(0.2 if marks is not None else 0.5)
    if marks is not None and "closing" not in marks:
        marks["closing"] = (time.monotonic(), len(stripe_reads(world)))
    code = run.wait(1)
    if code is None:
        run.kill()
        code = -signal.SIGKILL
    if steps is not None:
        steps += run.steps
    if endurance is not None and started is not None:
        endurance.seconds = time.monotonic() - started
    return code


def stripe_reads(world: World) -> list[dict[str, Any]]:
    """Every API request the emulator saw, in order."""
    requests = control(f"{world.stripe_url}/_emulator/requests", "GET")["requests"]
    assert isinstance(requests, list)
    return requests


def finish(
    world: World, rng: random.Random, final_customers: int, idle_window_s: float
) -> dict[str, Any]:
    """Clear faults, restart cleanly three times, reconcile, drain sync; what it saw."""
    world.clear_faults()
    world.write_config("automatic")
    endurance = Endurance()
    payable = [code for code in ITEMS if code not in BELOW_CARD_MINIMUM]
    customers = [
        {"kind": "approve", "items": [rng.choice(payable)], "receipt": "print"}
        for _ in range(final_customers)
    ]
    steps: list[dict[str, Any]] = []
    plan = {"restored": "cancel", "customers": customers}
    codes = [clean_run(world, plan, endurance, steps)]
    codes.append(clean_run(world, {"restored": "pay"}))
    marks: dict[str, tuple[float, int]] = {}
    codes.append(clean_run(world, {"restored": "pay", "idle_s": idle_window_s}, marks=marks))
    (idle_at, first), (closing_at, last) = marks.get("idle", (0, 0)), marks.get("closing", (0, 0))
    idle_s = closing_at - idle_at
    reads = [r for r in stripe_reads(world)[first:last] if r["method"] == "GET"]
    reconcile = world.kiosk_cli("reconcile")
    drained, sync_output = False, ""
    for _ in range(10):
        synced = world.kiosk_cli("sync", "run")
        sync_output = synced.stdout + synced.stderr
        if not local_rows(world.database, "SELECT 1 FROM outbox WHERE acked_at IS NULL"):
            drained = True
            break
        time.sleep(1)
    paid = sum(1 for step in steps if step["step"] == "paid")
    refusals = Counter(str(step.get("code")) for step in steps if step["step"] == "gave_up")
    return {
        "clean_exit_codes": codes,
        "final_customers": final_customers,
        "final_customers_paid": paid,
        "final_refusals": dict(refusals),
        "endurance": endurance.to_json(),
        "idle_run_s": round(idle_s, 1),
        "stripe_reads_in_idle_run": len(reads),
        "stripe_reads_per_idle_hour": round(len(reads) * 3600 / idle_s) if idle_s else None,
        "reconcile_exit": reconcile.returncode,
        "reconcile": (reconcile.stdout + reconcile.stderr).strip().splitlines()[-20:],
        "sync_drained": drained,
        "sync": sync_output.strip().splitlines()[-5:],
    }


# ------------------------------------------------------------------------------ the checks


@dataclass
class Snapshot:
    """What the checks compare: the emulator's objects, the kiosk's rows, the back office's
    events, and the world (for checks that run a command)."""

    world: World
    intents: list[dict[str, Any]]
    stripe_refunds: list[dict[str, Any]]
    sales: dict[str, tuple[str, int]]
    """sale id: (state, total_minor)."""
    attempts: dict[str, tuple[str, str | None, int]]
    """sale id: (attempt state, PaymentIntent id, captured_minor)."""
    refunds: list[tuple[str, str, int, str, str | None]]
    """(refund id, sale id, amount_minor, state, Stripe refund id)."""
    receipts: dict[str, list[str]]
    """sale id: states of its original receipt jobs (copy 0)."""
    hq_events: list[dict[str, Any]]


Mismatch = tuple[str, str]
"""(kind, detail)."""


def take_snapshot(world: World) -> Snapshot:
    """Read everything the checks need, after the soak's processes settled."""
    state = control(f"{world.stripe_url}/_emulator/state", "GET")
    db = world.database
    receipts: dict[str, list[str]] = {}
    for sale_id, job_state in local_rows(
        db, "SELECT sale_id, state FROM print_jobs WHERE kind = 'receipt' AND copy = 0"
    ):
        receipts.setdefault(sale_id, []).append(job_state)
    with open_store(database=world.folder / "hq.db") as store:
        events = [event.to_json() for event in store.events(KIOSK_ID)]
    return Snapshot(
        world=world,
        intents=list(state["payment_intents"].values()),
        stripe_refunds=list(state["refunds"].values()),
        sales={
            row[0]: (row[1], int(row[2]))
            for row in local_rows(db, "SELECT id, state, total_minor FROM sales")
        },
        attempts={
            row[0]: (row[1], row[2], int(row[3] or 0))
            for row in local_rows(
                db, "SELECT sale_id, state, payment_intent_id, captured_minor FROM payment_attempts"
            )
        },
        refunds=[
            (r[0], r[1], int(r[2]), r[3], r[4])
            for r in local_rows(
                db, "SELECT id, sale_id, amount_minor, state, stripe_refund_id FROM refunds"
            )
        ],
        receipts=receipts,
        hq_events=events,
    )


def paid_sales(snap: Snapshot) -> dict[str, int]:
    """Locally paid sales: sale id to total."""
    return {sale_id: total for sale_id, (state, total) in snap.sales.items() if state == "paid"}


def check_intents_match_sales(snap: Snapshot) -> list[Mismatch]:
    """Every succeeded PaymentIntent is exactly one local paid sale of the same amount."""
    found: list[Mismatch] = []
    paid, by_sale = paid_sales(snap), Counter[str]()
    for intent in snap.intents:
        if intent["status"] != "succeeded":
            continue
        sale_id = intent["metadata"].get("sale_id", "")
        by_sale[sale_id] += 1
        if sale_id not in paid:
            found.append(("succeeded_intent_without_paid_sale", f"{intent['id']} {sale_id}"))
        elif intent.get("amount_received", intent["amount"]) != paid[sale_id]:
            found.append(
                (
                    "amount_differs",
                    f"{intent['id']} {intent['amount']} != {paid[sale_id]} ({sale_id})",
                )
            )
        elif snap.attempts.get(sale_id, ("", None, 0))[1] != intent["id"]:
            found.append(("paid_sale_records_another_intent", f"{sale_id} {intent['id']}"))
    found += [("sale_charged_twice", sale_id) for sale_id, n in by_sale.items() if n > 1]
    return found


def check_paid_sales_have_intents(snap: Snapshot) -> list[Mismatch]:
    """No local paid sale lacks a succeeded PaymentIntent."""
    succeeded = {intent["id"] for intent in snap.intents if intent["status"] == "succeeded"}
    return [
        ("paid_sale_without_succeeded_intent", sale_id)
        for sale_id in paid_sales(snap)
        if snap.attempts.get(sale_id, ("", None, 0))[1] not in succeeded
    ]


def check_nothing_uncaptured(snap: Snapshot) -> list[Mismatch]:
    """No authorisation left uncaptured."""
    return [
        ("authorisation_uncaptured", f"{i['id']} {i['metadata'].get('sale_id')}")
        for i in snap.intents
        if i["status"] == "requires_capture"
    ]


def check_abandoned_sales_have_no_live_intent(snap: Snapshot) -> list[Mismatch]:
    """No live PaymentIntent for an abandoned (or voided) sale."""
    closed = {s for s, (state, _) in snap.sales.items() if state in ("abandoned", "voided")}
    return [
        ("live_intent_for_abandoned_sale", f"{i['id']} {i['status']}")
        for i in snap.intents
        if i["metadata"].get("sale_id") in closed and i["status"] not in ("succeeded", "canceled")
    ]


def check_payments_settled(snap: Snapshot) -> list[Mismatch]:
    """After the clean restarts and reconcile, no attempt or sale is left in between."""
    found = [
        ("attempt_unresolved", f"{sale_id} {state}")
        for sale_id, (state, _, _) in snap.attempts.items()
        if state in ("locked", "processing", "authorised")
    ]
    found += [("sale_left_locked", s) for s, (state, _) in snap.sales.items() if state == "locked"]
    return found


def check_refunds(snap: Snapshot) -> list[Mismatch]:
    """Every refund once at Stripe and once locally, same amount; never above the capture."""
    found: list[Mismatch] = []
    live = [r for r in snap.stripe_refunds if r["status"] in ("succeeded", "pending")]
    local_by_stripe = {r[4]: r for r in snap.refunds if r[4]}
    for refund in live:
        mine = local_by_stripe.get(refund["id"])
        if mine is None:
            found.append(("stripe_refund_not_local", f"{refund['id']} {refund['amount']}"))
        elif mine[2] != refund["amount"]:
            found.append(("refund_amount_differs", f"{refund['id']} {refund['amount']}"))
        elif refund["status"] == "succeeded" and mine[3] != "succeeded":
            found.append(("refund_state_differs", f"{mine[0]} {mine[3]} vs succeeded"))
    keys = Counter(r["metadata"].get("refund_id") for r in live if r["metadata"].get("refund_id"))
    found += [("refunded_twice_at_stripe", key or "") for key, n in keys.items() if n > 1]
    stripe_ids = {r["id"] for r in snap.stripe_refunds}
    for refund_id, sale_id, _, state, stripe_id in snap.refunds:
        if state in ("succeeded", "submitted") and stripe_id not in stripe_ids:
            found.append(("local_refund_not_at_stripe", f"{refund_id} {sale_id}"))
        if state in ("requested", "submitted"):
            found.append(("refund_unresolved", f"{refund_id} {state}"))
    received = {i["id"]: i.get("amount_received", 0) for i in snap.intents}
    at_stripe = Counter[str]()
    for refund in live:
        at_stripe[refund["payment_intent"]] += refund["amount"]
    found += [
        ("refunds_exceed_capture_at_stripe", pi)
        for pi, total in at_stripe.items()
        if total > received.get(pi, 0)
    ]
    local = Counter[str]()
    for _, sale_id, amount, state, _ in snap.refunds:
        if state != "failed":
            local[sale_id] += amount
    found += [
        ("refunds_exceed_capture_locally", sale_id)
        for sale_id, total in local.items()
        if total > snap.attempts.get(sale_id, ("", None, 0))[2]
    ]
    return found


def check_back_office(snap: Snapshot) -> list[Mismatch]:
    """The back office holds every paid sale and every succeeded refund exactly once."""
    found: list[Mismatch] = []
    sales = Counter(e["sale_id"] for e in snap.hq_events if e["topic"] == "sale.paid")
    for sale_id in paid_sales(snap):
        if sales[sale_id] != 1:
            found.append(("back_office_paid_sale_count", f"{sale_id} x{sales[sale_id]}"))
    found += [("back_office_sale_not_paid_here", s) for s in sales if s not in paid_sales(snap)]
    refunds = Counter(
        e["payload"].get("refund_id") for e in snap.hq_events if e["topic"] == "refund.succeeded"
    )
    for refund_id, _, _, state, _ in snap.refunds:
        if state == "succeeded" and refunds[refund_id] != 1:
            found.append(("back_office_refund_count", f"{refund_id} x{refunds[refund_id]}"))
    succeeded = {r[0] for r in snap.refunds if r[3] == "succeeded"}
    found += [("back_office_refund_not_here", str(r)) for r in refunds if r not in succeeded]
    if local_rows(snap.world.database, "SELECT 1 FROM outbox WHERE acked_at IS NULL"):
        found.append(("sync_not_drained", "outbox rows left unacknowledged"))
    return found


RECEIPT_STATES = frozenset(
    {
        "printed",
        "reprinted",
        "awaiting_choice",
        "printing",
        "retrying",
        "unprinted",
        "qr",
        "none",
        "timed_out",
    }
)
"""Receipt job states of a paid sale: printed, or waiting (to be chosen, printed, retried or
reprinted by staff), or the customer took none (QR code, no receipt, no choice)."""


def check_receipts(snap: Snapshot) -> list[Mismatch]:
    """Every paid sale has one receipt job, printed or waiting (or declined by the customer)."""
    found: list[Mismatch] = []
    for sale_id in paid_sales(snap):
        states = snap.receipts.get(sale_id, [])
        if len(states) != 1 or states[0] not in RECEIPT_STATES:
            found.append(("paid_sale_receipt", f"{sale_id} {states}"))
    return found


def command_check(kind: str, *args: str) -> Callable[[Snapshot], list[Mismatch]]:
    """A check that runs ``kiosk ARGS --config kiosk.toml``: exit 0 passes, else a mismatch
    of ``kind`` with the command's last lines."""

    def check(snap: Snapshot) -> list[Mismatch]:
        done = snap.world.kiosk_cli(*args)
        if done.returncode == 0:
            return []
        return [(kind, " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:]))]

    check.__doc__ = f"``kiosk {' '.join(args)}`` exits 0."
    return check


# --------------------------------------------------------------- THE FINAL CHECKS (data)
FINAL_CHECKS: tuple[Callable[[Snapshot], list[Mismatch]], ...] = (
    check_intents_match_sales,
    check_paid_sales_have_intents,
    check_nothing_uncaptured,
    check_abandoned_sales_have_no_live_intent,
    check_payments_settled,
    check_refunds,
    check_back_office,
    check_receipts,
    command_check("audit_chain_broken", "audit", "verify"),
)


# ------------------------------------------------------------------------------ the program


def run_soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The whole soak in ``folder``; the report (see ``--json``)."""
    rng = random.Random(args.seed)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("KIOSK_")}
    environment.update(KIOSK_STRIPE_API_KEY=API_KEY, PYTHONUNBUFFERED="1")
    # the machine's keys (systemd credentials on a kiosk): PINs peppered, the audit log sealed
    environment.update(
        KIOSK_PIN_PEPPER=secrets.token_hex(32), KIOSK_AUDIT_KEY=secrets.token_hex(32)
    )
    world = World(folder, environment)
    tally = Tally()
    started = time.monotonic()
    try:
        world.start()
        while tally.total_kills < args.kills and tally.rounds < args.kills * 4:
            # Each round draws from its own source: a replay gets the same plans, faults
            # and kill choices round by round, however the rounds before it ended.
            one_round(world, random.Random(f"{args.seed}:{tally.rounds}"), tally, args.customers)
            if tally.rounds % 25 == 0:
                say(
                    f"round {tally.rounds}: {tally.total_kills} kills, "
                    f"{time.monotonic() - started:.0f} s"
                )
        end = finish(world, rng, args.final_customers, args.idle_window)
        snap = take_snapshot(world)
        mismatches = [found for check in FINAL_CHECKS for found in check(snap)]
        mismatches += [
            ("clean_restart_failed", f"exit {code}")
            for code in end["clean_exit_codes"]
            if code != 0
        ]
        if end["final_customers_paid"] < end["final_customers"]:
            readers = control(f"{world.stripe_url}/_emulator/state", "GET")["readers"]
            actions = [reader.get("action") for reader in readers.values()]
            paid_end = f"{end['final_customers_paid']} of {end['final_customers']} paid"
            mismatches.append(("clean_kiosk_could_not_sell", f"{paid_end}; reader {actions}"))
        if end["reconcile_exit"] != 0:
            mismatches.append(("reconcile_failed", " | ".join(end["reconcile"][-3:])))
        printed = len(list((folder / "printer").glob("*.bin")))
    finally:
        world.stop()
    by_kind = Counter(kind for kind, _ in mismatches)
    paid = paid_sales(snap)
    return {
        "seed": args.seed,
        "seconds": round(time.monotonic() - started, 1),
        "rounds": tally.rounds,
        "kills": tally.total_kills,
        "kills_by_kind": dict(tally.kills),
        "killed_while": dict(tally.killed_at.most_common()),
        "crash_points_hit": dict(tally.crash_points.most_common()),
        "clean_exits": tally.clean_exits,
        "failed_exits": tally.failed_exits,
        "sales": len(snap.sales),
        "sales_by_state": dict(Counter(s for s, _ in snap.sales.values())),
        "paid": len(paid),
        "captured_minor": sum(
            i.get("amount_received", 0) for i in snap.intents if i["status"] == "succeeded"
        ),
        "payment_intents": dict(Counter(i["status"] for i in snap.intents)),
        "refunds": dict(Counter(r[3] for r in snap.refunds)),
        "refunded_minor": sum(r[2] for r in snap.refunds if r[3] == "succeeded"),
        "receipts": dict(Counter(s for states in snap.receipts.values() for s in states)),
        "printer_jobs_kept": printed,
        "faults": dict(tally.faults.most_common()),
        "faults_missing": sorted(kind for kind in EMULATOR_FAULTS if kind not in KINDS),
        "back_office_events": dict(Counter(e["topic"] for e in snap.hq_events)),
        **end,
        "mismatches": len(mismatches),
        "mismatches_by_kind": dict(by_kind),
        "mismatch_examples": [f"{kind}: {detail}" for kind, detail in mismatches[:20]],
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kills", type=int, default=100, help="kills before the clean end")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    parser.add_argument("--customers", type=int, default=2, help="customers per round")
    parser.add_argument(
        "--final-customers",
        type=int,
        default=20,
        help="sales of the first clean run (memory, descriptors)",
    )
    parser.add_argument(
        "--idle-window",
        type=float,
        default=60.0,
        help="seconds the last clean run idles (Stripe reads counted)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="keep the run's files here (default: a temporary folder)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve-printer", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**32)
    return args


def main(argv: list[str]) -> int:
    """Run the soak; print the seed, then the figures; exit 1 on any mismatch."""
    args = parse_args(argv)
    if args.serve_printer is not None:
        serve_printer(args.serve_printer)
        return 0
    say(f"soak seed {args.seed} (replay with --seed {args.seed})")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        report = run_soak(args, args.dir)
        (args.dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as folder:
            report = run_soak(args, Path(folder))
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    if report["mismatches"]:
        say(f"MISMATCHES with seed {args.seed}: {report['mismatches_by_kind']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
