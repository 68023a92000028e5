"""The staff menu's settings page: the configuration file (read only) and the few settings
staff may change at the kiosk (managers): the sound volume and the first language.

The configuration file belongs to whoever installed the kiosk and is never written here; it is
shown in blocks of `CONFIG_LINES_PER_BLOCK` lines so that no single label grows past what a
texture can hold. Runtime settings are changed through ``change_setting``; the facade stores
and audits each change and answers with a ``RuntimeSettingChanged`` notice.
"""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from kiosk.ui.i18n import LANGUAGES, N_
from kiosk.ui.staff.audit_page import code_words
from kiosk.ui.staff.page import StaffPage

CONFIG_LINES_PER_BLOCK = 40
"""Lines of the configuration file per label."""

VOLUME_KEY = "sound.volume"
LANGUAGE_KEY = "shop.default_language"
CLOSED_KEY = "kiosk.closed"
VOLUME_STEP = 10
"""Percent the - and + buttons change the volume by."""

CHANGE_WORDS = {
    "bad_value": N_("That value is not allowed."),
    "unknown_setting": N_("The kiosk does not know that setting."),
    "not_allowed": N_("Managers only."),
    "pending": N_("The kiosk is busy. The change takes effect as soon as it is saved."),
    "failed": N_("The change could not be saved."),
}


class SettingsPage(StaffPage):
    """Settings (``kv/staff_settings.kv``)."""

    page_name = "settings"
    title = N_("Settings")
    manager = BooleanProperty(False)
    """The open session may change settings."""
    config_blocks = ListProperty([])
    """The configuration file in blocks of lines."""
    volume = NumericProperty(0)
    language = StringProperty("")
    """The language a new customer sees first; empty for the first configured one."""
    languages = ListProperty([])
    """(code, name) of each configured language."""
    closed_text = StringProperty("")
    answer_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config_text: str | None = None
        self._language_buttons: dict[str, Any] = {}

    def refresh(self) -> None:
        """Read the configuration and the runtime settings again."""
        if self.app is None:  # a notice that came while the app stopped
            return
        staff = self.app.kiosk.staff
        self.manager = bool(staff.may("change_setting"))
        text = staff.config_text()
        if text != self._config_text:
            self._config_text = text
            lines = text.splitlines()
            self.config_blocks = [
                "\n".join(lines[start:start + CONFIG_LINES_PER_BLOCK])
                for start in range(0, len(lines), CONFIG_LINES_PER_BLOCK)
            ]
        values = {key: value for key, _description, value in staff.runtime_settings()}
        self.volume = int(values.get(VOLUME_KEY, 0))
        self.language = str(values.get(LANGUAGE_KEY, ""))
        tr = self.app.tr
        self.closed_text = tr("The kiosk is closed to customers.") if values.get(
            CLOSED_KEY) else tr("The kiosk is open to customers.")
        self.languages = [(code, LANGUAGES.get(code, code)) for code in staff.languages]
        self._mark_language()

    def on_languages(self, _page: StaffPage, languages: list[tuple[str, str]]) -> None:
        """One button per configured language (the chosen one in the accent colour)."""
        box = self.ids.get("language_buttons")
        if box is None:
            return
        box.clear_widgets()
        self._language_buttons = {}
        for code, name in languages:
            button = Factory.ToolButton(text=name)
            self._language_buttons[code] = button
            button.bind(on_release=lambda _button, code=code: self.change_language(code))
            box.add_widget(button)
        self._mark_language()

    def on_config_blocks(self, _page: StaffPage, blocks: list[str]) -> None:
        """One monospace label per block of the configuration file."""
        box = self.ids.get("config_blocks")
        if box is None:
            return
        box.clear_widgets()
        for block in blocks:
            box.add_widget(Factory.ConfigBlock(text=block))

    def on_manager(self, _page: StaffPage, _manager: bool) -> None:
        """Attendants see the values only."""
        self._mark_language()

    def _mark_language(self) -> None:
        chosen = self.language or (self.languages[0][0] if self.languages else "")
        for code, button in self._language_buttons.items():
            button.role = "accent" if code == chosen else "neutral"
            button.disabled = not self.manager

    def change_volume(self, steps: int) -> None:
        """Turn the volume up (``steps`` > 0) or down by `VOLUME_STEP` each step."""
        wanted = max(0, min(100, self.volume + steps * VOLUME_STEP))
        if wanted != self.volume:
            self._change(VOLUME_KEY, wanted)

    def change_language(self, code: str) -> None:
        """Make ``code`` the language a new customer sees first."""
        self._change(LANGUAGE_KEY, code)

    def _change(self, key: str, value: object) -> None:
        code = self.app.kiosk.staff.change_setting(key, value)
        self.answer_text = code_words(self.app, CHANGE_WORDS, code) if code else ""
        self.refresh()
