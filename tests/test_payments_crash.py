"""The payment crash test: the kiosk process is SIGKILLed at every crash point and restarted.

The Stripe emulator runs as its own process with a state file for the whole module; the
"kiosk" is `tests/crash_driver.py`, a real process with the real payment service, store and
stripe client. Each case runs the driver once with ``KIOSK_CRASH_AT`` set (or with the
emulator's ``kill_pid_after`` fault, which kills the driver after Stripe acted and before it
answers), checks it died by SIGKILL, restarts it without the crash until it reports a final
outcome, then compares the emulator's objects with the local database: at most one
PaymentIntent that took money per sale, exactly one captured charge when the customer tapped,
none when they never did, refunds never above the capture, and the local record (payment and
refunds) equal to Stripe's.

Each case uses a fresh database, a fresh sale id and a fresh reader, so cases cannot see each
other's payments (each database has its own install id). The crash point names come from
`kiosk.payments.crashpoints.CRASHPOINTS`; each one is mapped to a scenario that reaches it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from kiosk.payments.crashpoints import CRASHPOINTS

TESTS = Path(__file__).resolve().parent
DRIVER = TESTS / "crash_driver.py"
RUN_TIMEOUT_S = 40.0
"""Upper bound (seconds) for one driver run; a run normally takes about a second."""
RESTARTS = 3
"""Restarts without the crash until the driver reports a final outcome."""
AMOUNT = 1250
"""What every paying sale finally costs, minor units (approves on the emulator)."""


@dataclass(frozen=True)
class Scenario:
    """One way a sale goes: the driver's options, the emulator's customer and faults.

    ``expect``: ``paid`` (the customer tapped), ``open`` (never tapped, or Stripe refused the
    payment: no money taken), ``abandoned`` (walked away: PaymentIntent cancelled).
    ``refund``: ``succeeded`` or ``failed`` when the paid sale is refunded.
    ``advance_s``: seconds the emulator clock moves forward before each restart (a refund the
    ``refund_pending`` fault left pending succeeds meanwhile).
    """

    name: str
    options: tuple[str, ...] = ()
    taps: bool = True
    faults: tuple[dict[str, Any], ...] = ()
    expect: str = "paid"
    refund: str | None = None
    payment_intents: int = 1
    advance_s: float = 0.0


SCENARIOS = {scenario.name: scenario for scenario in (
    Scenario("tap"),
    Scenario("manual_capture", ("--capture", "manual")),
    Scenario("capture_retried", ("--capture", "manual"), faults=(
        {"kind": "error_500_before", "method": "POST", "path": r"/capture$"},)),
    Scenario("create_retried", faults=(
        {"kind": "error_500_before", "method": "POST", "path": r"^/v1/payment_intents$",
         "times": 2},)),
    Scenario("declined_then_cart_changed", ("--amount", "1005", "--then-amount",
                                            str(AMOUNT))),
    Scenario("refunded", ("--refund",), refund="succeeded"),
    Scenario("refund_pending", ("--refund",), refund="succeeded", faults=(
        {"kind": "refund_pending", "method": "POST", "path": r"^/v1/refunds$",
         "seconds": 60},), advance_s=61),
    Scenario("refund_refused", ("--refund",), refund="failed", faults=(
        {"kind": "reader_busy", "method": "POST", "path": r"^/v1/refunds$"},)),
    Scenario("never_taps", ("--idle", "0.3"), taps=False, expect="open"),
    Scenario("walks_away", ("--idle", "0.3", "--abandon"), taps=False, expect="abandoned"),
    Scenario("amount_too_small", ("--amount", "30"), expect="open", payment_intents=0),
)}

POST_SCENARIO = {
    "create": "tap", "display": "tap", "process": "tap", "update": "declined_then_cart_changed",
    "cancel_action": "never_taps", "capture": "manual_capture", "cancel": "walks_away",
    "refund": "refunded",
}
"""The scenario that reaches each Stripe POST of the protocol."""

COMMIT_SCENARIO = {
    "locked": "tap", "create_key": "create_retried", "update": "declined_then_cart_changed",
    "intent_created": "tap", "processing": "tap", "cancel_action": "never_taps",
    "authorised": "manual_capture", "capture_key": "capture_retried", "paid": "tap",
    "returned": "never_taps", "abandoned": "walks_away", "intent_status": "walks_away",
    "new": "amount_too_small", "refund_requested": "refunded", "refund_submitted": "refund_pending",
    "refund_succeeded": "refunded", "refund_failed": "refund_refused",
}
"""The scenario that reaches each protocol commit."""

POST_PATHS = {
    "create": r"^/v1/payment_intents$",
    "update": r"^/v1/payment_intents/[^/]+$",
    "display": r"/set_reader_display$",
    "process": r"/process_payment_intent$",
    "cancel_action": r"/cancel_action$",
    "capture": r"^/v1/payment_intents/[^/]+/capture$",
    "cancel": r"^/v1/payment_intents/[^/]+/cancel$",
    "refund": r"^/v1/refunds$",
}
"""The path (regex) of each Stripe POST, for the emulator's ``kill_pid_after`` fault."""


def scenario_for(point: str) -> Scenario:
    """The scenario that reaches crash point ``point`` (``before_post:create``...)."""
    where, _, name = point.partition(":")
    table = POST_SCENARIO if where.endswith("_post") else COMMIT_SCENARIO
    assert name in table, f"crash point {point} has no scenario: add one to this test"
    return SCENARIOS[table[name]]


_TRY = ("locked", "display", "create", "intent_created", "processing", "process")
PASSES = {
    "declined_then_cart_changed": (
        *(f"{when}:{name}" for name in _TRY for when in (
            ("before_commit", "after_commit") if name in ("locked", "intent_created",
                                                           "processing")
            else ("before_post", "after_post"))),
        "before_commit:returned", "after_commit:returned",
        "before_commit:locked", "after_commit:locked",
        "before_commit:update", "after_commit:update", "before_post:update", "after_post:update",
        "before_commit:update", "after_commit:update",
        "before_commit:processing", "after_commit:processing",
        "before_post:process", "after_post:process",
        "before_commit:paid", "after_commit:paid"),
    "walks_away": (
        *(f"{when}:{name}" for name in _TRY for when in (
            ("before_commit", "after_commit") if name in ("locked", "intent_created",
                                                           "processing")
            else ("before_post", "after_post"))),
        "before_commit:cancel_action", "after_commit:cancel_action",
        "before_post:cancel_action", "after_post:cancel_action",
        "before_commit:returned", "after_commit:returned",
        "before_commit:abandoned", "after_commit:abandoned",
        "before_post:cancel", "after_post:cancel",
        "before_commit:intent_status", "after_commit:intent_status"),
}
"""The crash points two rich scenarios pass, in order, in a run without a crash (the test
`test_the_rich_scenarios_pass_the_crash_points_in_the_listed_order` keeps this true)."""


def random_points(count: int, seed: int = 20261126) -> list[tuple[str, str, int]]:
    """``count`` seeded (scenario, point, k) triples: crash at the k-th pass of the point.

    Drawn from the passes of the two rich scenarios, so k is 2 for a point passed a second
    time (a second try after a decline, the withdrawn payment before the abandon).
    """
    rng = random.Random(seed)
    chosen = []
    for index in range(count):
        scenario = sorted(PASSES)[index % len(PASSES)]
        passes = PASSES[scenario]
        at = rng.randrange(len(passes))
        chosen.append((scenario, passes[at], passes[: at + 1].count(passes[at])))
    return chosen


# ------------------------------------------------------------------------ the emulator


@dataclass
class EmulatorProcess:
    """The standalone emulator process and how to talk to its control endpoints."""

    process: subprocess.Popen[str]
    url: str

    def control(self, method: str, name: str, body: Any = None) -> Any:
        """Call ``/_emulator/{name}`` with a JSON body; returns the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_emulator/{name}", data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    state = tmp_path_factory.mktemp("stripe") / "stripe.json"
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from kiosk.sim.stripe_emulator import serve; serve(port=0, state_path=Path(sys.argv[1]))",
         str(state)],
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    try:
        yield EmulatorProcess(process, url)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


# ------------------------------------------------------------------------ one case


@dataclass
class CrashCase:
    """One sale driven through a crash and the restarts after it."""

    emulator: EmulatorProcess
    scenario: Scenario
    db_path: Path
    sale_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    reader_id: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def prepare(self) -> None:
        """A fresh reader, the scenario's customer and faults."""
        self.emulator.control("DELETE", "faults")
        self.reader_id = self.emulator.control("POST", "readers", {"label": "crash"})["id"]
        customer = {"behaviour": "tap", "after_s": 0.2} if self.scenario.taps else {
            "behaviour": "never"}
        self.emulator.control("POST", "customer", customer)
        if self.scenario.faults:
            self.emulator.control("POST", "faults", list(self.scenario.faults))

    def start(self, crash_at: str | None = None, hold: bool = False) -> subprocess.Popen[str]:
        """Start the driver (``crash_at``: ``KIOSK_CRASH_AT``; ``hold``: wait for stdin)."""
        env = {key: value for key, value in os.environ.items() if key != "KIOSK_CRASH_AT"}
        if crash_at is not None:
            env["KIOSK_CRASH_AT"] = crash_at
        command = [sys.executable, str(DRIVER), str(self.db_path), self.emulator.url,
                   self.reader_id, self.sale_id, "pay", *self.scenario.options]
        if hold:
            command.append("--hold")
        return subprocess.Popen(command, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, process: subprocess.Popen[str]) -> tuple[int, dict[str, Any] | None]:
        """Wait for the driver; its exit code and its JSON line (``None`` if it printed none)."""
        try:
            stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"the driver hung: {stderr[-3000:]}")
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if process.returncode == 0:
            assert lines, f"the driver printed no outcome: {stderr[-3000:]}"
            output: dict[str, Any] = json.loads(lines[-1])
            self.outputs.append(output)
            return 0, output
        assert process.returncode == -signal.SIGKILL, (
            f"the driver failed with {process.returncode}: {stderr[-3000:]}")
        return process.returncode, None

    def crash(self, crash_at: str) -> tuple[int, dict[str, Any] | None]:
        """One run with ``KIOSK_CRASH_AT=crash_at``."""
        return self.finish(self.start(crash_at))

    def crash_after_stripe_acts(self, post: str) -> int:
        """One run that the emulator kills right after acting on ``post``, before answering."""
        process = self.start(hold=True)
        self.emulator.control("POST", "faults", {"kind": "kill_pid_after", "method": "POST",
                                                 "path": POST_PATHS[post], "pid": process.pid})
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        code, _ = self.finish(process)
        return code

    def restart_until_final(self) -> dict[str, Any]:
        """Restart the driver (no crash) until it reports a final outcome."""
        self.emulator.control("DELETE", "faults")
        for _ in range(RESTARTS):
            if self.scenario.advance_s:
                self.emulator.control("POST", "clock", {"seconds": self.scenario.advance_s})
            code, output = self.finish(self.start())
            assert code == 0 and output is not None
            if output["final"]:
                return output
        pytest.fail(f"no final outcome after {RESTARTS} restarts: {self.outputs}")

    # ------------------------------------------------------------------ invariants

    def check_invariants(self) -> None:
        """Compare the emulator's objects with the local database (see the module)."""
        state = self.emulator.control("GET", "state")
        intents = [intent for intent in state["payment_intents"].values()
                   if (intent.get("metadata") or {}).get("sale_id") == self.sale_id]
        took_money = [intent for intent in intents
                      if intent["status"] in ("succeeded", "requires_capture")]
        assert len(took_money) <= 1, f"more than one intent took money: {intents}"
        live = [intent for intent in intents if intent["status"] != "canceled"]
        assert len(live) <= 1, f"more than one live intent: {intents}"
        ids = {intent["id"] for intent in intents}
        captured = [charge for charge in state["charges"].values()
                    if charge.get("payment_intent") in ids and charge.get("captured")]
        local = self.local_record()
        scenario = self.scenario
        if scenario.expect == "paid":
            (intent,) = took_money
            assert intent["status"] == "succeeded"
            assert intent["amount_received"] == AMOUNT
            assert len(captured) == 1 and captured[0]["amount_captured"] == AMOUNT
            assert local["sale_state"] == "paid"
            assert local["attempt_state"] == "paid"
            assert local["payment_intent_id"] == intent["id"]
            assert local["captured_minor"] == intent["amount_received"]
        else:
            assert took_money == [] and captured == []
            assert local["sale_state"] == scenario.expect
            assert local["attempt_state"] != "paid"
        assert len(intents) == scenario.payment_intents, intents
        if intents:
            # The local record points at the sale's one PaymentIntent, with its status.
            assert local["payment_intent_id"] == intents[0]["id"]
            expected_status = {"paid": "succeeded", "abandoned": "canceled",
                               "open": "requires_payment_method"}[scenario.expect]
            assert intents[0]["status"] == expected_status
            if scenario.expect == "abandoned":
                assert local["intent_status"] == "canceled"
        self.check_refunds(state, local, took_money)

    def check_refunds(self, state: dict[str, Any], local: dict[str, Any],
                      took_money: list[dict[str, Any]]) -> None:
        """A refunded sale: one refund at Stripe and locally, or none when it was refused;
        never more refunded than captured, and every local refund equal to Stripe's."""
        remote = [refund for refund in state["refunds"].values()
                  if took_money and refund.get("payment_intent") == took_money[0]["id"]]
        captured = took_money[0].get("amount_received", 0) if took_money else 0
        assert sum(refund["amount"] for refund in remote
                   if refund["status"] != "failed") <= captured
        assert sum(row["amount_minor"] for row in local["refunds"]
                   if row["state"] != "failed") <= local["captured_minor"]
        by_id = {refund["id"]: refund for refund in remote}
        for row in local["refunds"]:
            if row["stripe_refund_id"] is not None:
                refund = by_id[row["stripe_refund_id"]]
                assert (row["amount_minor"], row["state"]) == (
                    refund["amount"], {"pending": "submitted"}.get(refund["status"],
                                                                    refund["status"]))
        if self.scenario.refund is None:
            assert remote == [] and local["refunds"] == []
            return
        (row,) = local["refunds"]
        assert row["state"] == self.scenario.refund
        if self.scenario.refund == "succeeded":
            (refund,) = remote
            assert refund["status"] == "succeeded"
            assert row["stripe_refund_id"] == refund["id"]
            assert row["amount_minor"] == refund["amount"] == AMOUNT
        else:
            assert remote == []

    def local_record(self) -> dict[str, Any]:
        """The sale, its attempt and its refunds as the kiosk's database holds them."""
        db = Database(self.db_path)
        try:
            sale_state = db.execute("SELECT state FROM sales WHERE id = ?",
                                    [self.sale_id]).fetchone()[0]
            attempt = db.execute(
                "SELECT state, payment_intent_id, captured_minor, intent_status "
                "FROM payment_attempts WHERE sale_id = ?", [self.sale_id]).fetchone()
            refunds = db.execute(
                "SELECT state, amount_minor, stripe_refund_id FROM refunds WHERE sale_id = ?",
                [self.sale_id]).fetchall()
        finally:
            db.close()
        assert attempt is not None, "the sale never tried to pay"
        return {"sale_state": sale_state, "attempt_state": attempt[0],
                "payment_intent_id": attempt[1], "captured_minor": attempt[2],
                "intent_status": attempt[3],
                "refunds": [{"state": state, "amount_minor": amount, "stripe_refund_id": ref}
                            for state, amount, ref in refunds]}


def new_case(emulator: EmulatorProcess, scenario: Scenario, tmp_path: Path) -> CrashCase:
    case = CrashCase(emulator=emulator, scenario=scenario, db_path=tmp_path / "kiosk.db")
    case.prepare()
    return case


# ------------------------------------------------------------------------ the cases


def test_every_crash_point_has_a_scenario() -> None:
    for point in CRASHPOINTS:
        assert scenario_for(point).name in SCENARIOS
    assert set(POST_PATHS) == set(POST_SCENARIO)


@pytest.mark.parametrize("scenario", sorted(PASSES))
def test_the_rich_scenarios_pass_the_crash_points_in_the_listed_order(
        emulator: EmulatorProcess, tmp_path: Path, scenario: str) -> None:
    case = new_case(emulator, SCENARIOS[scenario], tmp_path)
    code, output = case.finish(case.start())
    assert code == 0 and output is not None and output["final"]
    assert tuple(output["passed"]) == PASSES[scenario]
    case.check_invariants()


@pytest.mark.parametrize("point", sorted(CRASHPOINTS))
def test_a_kill_at_the_crash_point_is_recovered_without_a_second_charge(
        emulator: EmulatorProcess, tmp_path: Path, point: str) -> None:
    case = new_case(emulator, scenario_for(point), tmp_path)
    code, _ = case.crash(point)
    assert code == -signal.SIGKILL, f"{point} was not reached in {case.scenario.name}"
    final = case.restart_until_final()
    assert final["recovery_settled"]
    case.check_invariants()


def test_a_pending_refund_is_committed_submitted_and_succeeds_after_a_restart(
        emulator: EmulatorProcess, tmp_path: Path) -> None:
    case = new_case(emulator, SCENARIOS["refund_pending"], tmp_path)
    code, output = case.finish(case.start())
    assert code == 0 and output is not None and not output["final"]
    passed = output["passed"]
    assert passed[-2:] == ["before_commit:refund_submitted", "after_commit:refund_submitted"]
    assert "before_commit:refund_succeeded" not in passed
    (row,) = output["refunds"]
    assert row["state"] == "submitted"
    remote = emulator.control("GET", "state")["refunds"][row["stripe_refund_id"]]
    assert (remote["status"], remote["amount"]) == ("pending", AMOUNT)
    final = case.restart_until_final()
    assert final["refunds"][0]["state"] == "succeeded"
    assert "after_commit:refund_succeeded" in final["passed"]
    case.check_invariants()


@pytest.mark.parametrize("post", sorted(POST_PATHS))
def test_a_kill_right_after_stripe_acted_is_recovered_without_a_second_charge(
        emulator: EmulatorProcess, tmp_path: Path, post: str) -> None:
    case = new_case(emulator, SCENARIOS[POST_SCENARIO[post]], tmp_path)
    assert case.crash_after_stripe_acts(post) == -signal.SIGKILL, (
        f"the {post} POST was not reached in {case.scenario.name}")
    executed = [request for request in emulator.control("GET", "requests")["requests"]
                if request["status"] is not None and "kill_pid_after" in request["faults"]]
    assert executed and executed[-1]["executed"]
    case.restart_until_final()
    case.check_invariants()


@pytest.mark.parametrize(("scenario", "point", "hit"), random_points(10),
                         ids=[f"{s}-{p}#{k}" for s, p, k in random_points(10)])
def test_a_kill_at_a_random_pass_of_a_crash_point_is_recovered(
        emulator: EmulatorProcess, tmp_path: Path, scenario: str, point: str,
        hit: int) -> None:
    case = new_case(emulator, SCENARIOS[scenario], tmp_path)
    code, output = case.crash(f"{point}#{hit}")
    print(f"{scenario} {point}#{hit}: {'killed' if code else 'not reached, run completed'}")
    if code == 0:
        # Not reached: the run completed, and it passed the point fewer than `hit` times.
        assert output is not None and output["passed"].count(point) < hit
        if not output["final"]:
            case.restart_until_final()
    else:
        case.restart_until_final()
    case.check_invariants()
