"""The staff menu's kiosk page: open or close the kiosk to customers, restart the app, reboot
or turn off the kiosk, leave the app (managers only).

Closing is undone with one tap and needs no confirmation. Everything that stops the app or the
computer asks "Are you sure?" first: the action's button only arms it, and a second tap on the
confirm button carries it out. A refusal (a customer's sale is open) is shown in words.
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.i18n import N_
from kiosk.ui.staff.audit_page import code_words
from kiosk.ui.staff.page import StaffPage

CONFIRMED_ACTIONS = {
    "restart_app": N_("Restart the app"),
    "reboot": N_("Reboot the kiosk"),
    "power_off": N_("Turn the kiosk off"),
    "leave_app": N_("Leave the app"),
}
"""The actions that ask "Are you sure?", with their buttons' words (their names are the
facade's manager-only action names)."""

ACCEPTED_WORDS = {
    "restart_app": N_("The app is restarting."),
    "reboot": N_("The kiosk is rebooting."),
    "power_off": N_("The kiosk is turning off."),
    "leave_app": N_("Leaving the app."),
}

REFUSAL_WORDS = {
    "sale_open": N_("Finish or cancel the customer's sale first."),
    "not_allowed": N_("Managers only."),
}


class KioskPage(StaffPage):
    """The kiosk itself (``kv/staff_kiosk.kv``)."""

    page_name = "kiosk"
    title = N_("Kiosk")
    manager = BooleanProperty(False)
    """The open session may open, close, restart and stop the kiosk."""
    closed = BooleanProperty(False)
    asking = StringProperty("")
    """The action waiting for its confirmation (a key of `CONFIRMED_ACTIONS`), or empty."""
    answer_text = StringProperty("")
    answer_is_error = BooleanProperty(False)

    def refresh(self) -> None:
        """Read the kiosk's state and the session's role."""
        if self.app is None:  # a notice that came while the app stopped
            return
        staff = self.app.kiosk.staff
        self.closed = bool(staff.closed)
        self.manager = bool(staff.may("open_close"))
        if not self.manager:
            self.asking = ""

    def set_closed(self, closed: bool) -> None:
        """Close the kiosk to customers, or open it again."""
        self.asking = ""
        self.answer_text = ""
        self.app.kiosk.staff.set_closed(closed)

    def ask(self, action: str) -> None:
        """The first tap on a stopping action: ask for the confirmation (scrolled into sight
        once laid out: on a small screen it opens below the fold)."""
        self.answer_text = ""
        self.asking = action
        Clock.schedule_once(lambda _dt: self._show_question(), 0.1)

    def _show_question(self) -> None:
        if self.asking and self.get_root_window() is not None:
            self.ids.scroll.scroll_to(self.ids.cancel_button, padding=10, animate=False)

    def cancel(self) -> None:
        """Do not carry out the action asked about."""
        self.asking = ""

    def confirm(self) -> None:
        """The second tap: carry out the action asked about."""
        action, self.asking = self.asking, ""
        staff = self.app.kiosk.staff
        if action == "restart_app":
            self._answer(action, staff.restart_app())
        elif action == "leave_app":
            self._answer(action, staff.leave_app())
        elif action == "reboot":
            staff.reboot(lambda code: self._answer("reboot", code))
        elif action == "power_off":
            staff.power_off(lambda code: self._answer("power_off", code))

    def _answer(self, action: str, code: str) -> None:
        self.answer_is_error = bool(code)
        if not code:
            self.answer_text = self.app.tr(ACCEPTED_WORDS[action])
        elif code.startswith("failed:"):
            self.answer_text = self.app.tr(
                "It did not work: {reason}", reason=code.partition(":")[2].strip())
        else:
            self.answer_text = code_words(self.app, REFUSAL_WORDS, code)

    def action_words(self, action: str) -> str:
        """The translated words of a confirmed action's button (for the kv)."""
        return str(self.app.tr(CONFIRMED_ACTIONS[action])) if action else ""
