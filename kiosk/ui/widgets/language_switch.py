"""The top bar's language switch: the shop's other languages, one compact button each.

Every customer screen but the attract screen (which lists the languages in its own body)
offers them in the top bar, each named in its own language behind a globe, so a customer can
change the words at any step of a sale. Which languages, and where, is the view-model's
decision (``kiosk.ui.customer_view.CustomerView.language_choices``: none while a card is
being read, none on staff screens); this widget only draws them, and takes no width when there
are none, so the bar's other buttons keep their places. A button is made only once a
language is offered: the attract screen's first frame builds none (nor loads the icon font).
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.icons import icon, register_icon_font
from kiosk.ui.widgets.basic import TouchButton


class LanguageButton(TouchButton):
    """One language of the switch: ``code`` (a key of ``kiosk.ui.i18n.LANGUAGES``) and its
    own name after a globe (looks in ``kv/root.kv``)."""

    code = StringProperty("")
    name = StringProperty("")
    """The language's name for itself ("Deutsch")."""

    def on_release(self) -> None:
        """Switch every word on screen to this language."""
        App.get_running_app().set_language(self.code)


class LanguageSwitch(BoxLayout):
    """A row of `LanguageButton` for ``choices`` ((code, own name) pairs; kv binds it to
    ``app.language_choices``)."""

    choices = ListProperty([])

    def on_choices(self, _switch: LanguageSwitch, choices: list[tuple[str, str]]) -> None:
        """Make one button per language offered (none: the switch takes no width)."""
        shown = [(str(button.code), str(button.name)) for button in reversed(self.children)]
        if shown == [tuple(choice) for choice in choices]:
            return
        self.clear_widgets()
        for code, name in choices:
            self.add_widget(LanguageButton(code=code, name=name, text=label_of(name)))

    @property
    def buttons(self) -> list[Any]:
        """The language buttons on show, left to right."""
        return list(reversed(self.children))


def label_of(name: str) -> str:
    """A language button's words (Kivy markup): the globe icon, then the language's name."""
    return f"[font={register_icon_font()}]{icon('language')}[/font] {name}"
