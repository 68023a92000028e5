"""Keys to the customer's actions: what a USB keypad or keyboard press means, decided once.

Pure (no kivy; times are passed in, seconds on a monotonic clock). The Kivy glue
(``kiosk.ui.key_navigation``) feeds the window's key events into a `KeyRouter` and carries
out the `Action` it answers. The rules, for a customer who may press clumsily or hold a key:

- a key acts when it comes **up**, and only if it went down alone (no other key down
  meanwhile; Shift is allowed, for Shift-Tab): two keys pressed together do nothing;
- a held key's auto-repeat (more key-downs without a key-up) is ignored: one press, one action;
- a key held down longer than `STUCK_S` without a repeat is forgotten (its key-up may have
  gone to another window), so one lost key-up never locks the keyboard;
- **keyboard-wedge scanners** type a barcode as printable characters, a few milliseconds
  apart, and end it with Enter. Printable characters typed within `BURST_GAP_S` of each other
  are a *burst*; an Enter that goes down within `BURST_GAP_S` of the last one ends the burst
  and is no activation: the burst's text goes to the router's ``on_burst`` (where a wedge
  scanner plugs in; nothing listens yet). A printable key's own action ("?" asks for help)
  waits `BURST_GAP_S` after its key-down and is dropped if another printable key follows.

Which keys: arrows and Tab/Shift-Tab move (Up and Left back, Down and Right on), the keypad's
arrows too with Num Lock off; Enter (either) activates; Escape and Backspace go back; F1, the
Help key and "?" ask for help; F2 opens the accessibility panel. Key codes are Kivy's
(``kivy.core.window.Keyboard.keycodes``; SDL's own code for keys Kivy does not map).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

BURST_GAP_S = 0.05
"""Printable keys this close together are a scanner typing, not a person."""
STUCK_S = 1.5
"""A key down this long without a repeat is taken as released (its key-up was lost)."""


class Action(Enum):
    """What a key press asks for."""

    NEXT = "next"
    PREVIOUS = "previous"
    ACTIVATE = "activate"
    BACK = "back"
    HELP = "help"
    ACCESSIBILITY = "accessibility"


ENTER = 13
NUMPAD_ENTER = 271
TAB = 9
ESCAPE = 27
BACKSPACE = 8
UP, DOWN, RIGHT, LEFT = 273, 274, 275, 276
F1, F2 = 282, 283
HELP_KEY = 0x40000075
"""SDL's code for a keyboard's Help key (HID usage 0x75), which Kivy passes on unmapped."""
NUMPAD_ARROWS = {264: Action.PREVIOUS, 258: Action.NEXT, 260: Action.PREVIOUS, 262: Action.NEXT}
"""The keypad's 8, 2, 4 and 6: up, down, left and right while Num Lock is off."""
NUMPAD_KEYS = range(256, 267)
"""The keypad's digits and its decimal point (Kivy's codes)."""
MODIFIER_KEYS = frozenset({300, 301, 303, 304, 305, 306, 307, 308, 309, 310, 311, 313})
"""Num Lock, Caps Lock, the Shift, Ctrl, Alt, AltGr, Super and Compose keys."""
SPECIAL_KEYS = range(256, 320)
"""Kivy's codes for keys without a character of their own (its codepoint for them is junk)."""

KEY_ACTIONS = {
    TAB: Action.NEXT,
    DOWN: Action.NEXT,
    RIGHT: Action.NEXT,
    UP: Action.PREVIOUS,
    LEFT: Action.PREVIOUS,
    ENTER: Action.ACTIVATE,
    NUMPAD_ENTER: Action.ACTIVATE,
    ESCAPE: Action.BACK,
    BACKSPACE: Action.BACK,
    F1: Action.HELP,
    HELP_KEY: Action.HELP,
    F2: Action.ACCESSIBILITY,
}
"""Keys that act whatever character they would type."""
TEXT_ACTIONS = {"?": Action.HELP}
"""Characters that act (after `BURST_GAP_S`, when no other character follows)."""


@dataclass
class _Press:
    """A key that is down: when it went down (and last repeated), what it means."""

    down_at: float
    seen_at: float
    action: Action | None
    text: str
    spoiled: bool = False


@dataclass
class _Burst:
    """Printable characters typed `BURST_GAP_S` or less apart."""

    text: str
    last_at: float
    ended: bool = False


@dataclass
class _Pending:
    """A printable key's action, waiting to see whether its burst grows."""

    action: Action
    due_at: float
    burst: _Burst


class KeyRouter:
    """Key events in, `Action`s out (see the module's docstring for the rules)."""

    def __init__(
        self, *, on_burst: Callable[[str], None] | None = None, burst_gap_s: float = BURST_GAP_S
    ) -> None:
        """``on_burst(text)`` receives what a keyboard-wedge scanner typed (the characters of a
        burst that Enter ended)."""
        self.on_burst = on_burst
        self.burst_gap_s = burst_gap_s
        self._down: dict[int, _Press] = {}
        self._burst = _Burst("", -1e9, ended=True)
        self._pending: list[_Pending] = []

    def knows(self, key: int) -> bool:
        """True for keys with an action of their own (the window should not pass them on)."""
        return key in KEY_ACTIONS or key in NUMPAD_ARROWS

    def key_down(self, key: int, codepoint: str | None, modifiers: Sequence[str], now: float
                 ) -> None:
        """A key went down (or repeats: then nothing happens)."""
        self._forget_stuck(now)
        held = self._down.get(key)
        if held is not None:  # auto-repeat
            held.seen_at = now
            return
        text = self._text_of(key, codepoint, modifiers)
        action = self._action_of(key, text, modifiers)
        press = _Press(down_at=now, seen_at=now, action=action, text=text)
        chord = [other for other_key, other in self._down.items()
                 if other_key not in MODIFIER_KEYS]
        if key not in MODIFIER_KEYS and chord:
            press.spoiled = True
            for other in chord:
                other.spoiled = True
        if any(name in modifiers for name in ("ctrl", "alt", "meta")):
            press.spoiled = True  # a shortcut, not ours
        if key in (ENTER, NUMPAD_ENTER) and self._in_burst(now):
            press.spoiled = True  # the end of a scanner's burst
            self._end_burst()
        elif text:
            self._typed(text, now)
        self._down[key] = press

    def text_input(self, text: str, now: float) -> None:
        """The character a key typed (the window's text input: "?" is Shift and a key that
        differs between layouts)."""
        pressed = [press for press in self._down.values() if press.text or press.action is None]
        if pressed:
            press = max(pressed, key=lambda press: press.down_at)
            if press.action is None and text in TEXT_ACTIONS and not press.spoiled:
                press.action = TEXT_ACTIONS[text]
            burst = self._burst
            if press.text and not burst.ended and burst.text.endswith(press.text):
                burst.text = burst.text[: len(burst.text) - len(press.text)] + text
            press.text = text

    def key_up(self, key: int, now: float) -> Action | None:
        """A key came up: its action, if it went down alone (a printable key's action comes
        from `due` once no burst followed it)."""
        press = self._down.pop(key, None)
        if press is None or press.spoiled or press.action is None:
            return None
        if press.text:
            self._pending.append(
                _Pending(press.action, press.down_at + self.burst_gap_s, self._burst)
            )
            return None
        return press.action

    def next_due(self) -> float | None:
        """When `due` has an action to give (a printable key's), or ``None``."""
        return min((pending.due_at for pending in self._pending), default=None)

    def due(self, now: float) -> list[Action]:
        """Printable keys' actions whose wait is over and whose burst stayed one key long."""
        ready = [pending for pending in self._pending if pending.due_at <= now]
        self._pending = [pending for pending in self._pending if pending.due_at > now]
        return [
            pending.action for pending in ready
            if not pending.burst.ended and len(pending.burst.text) == 1
        ]

    def _in_burst(self, now: float) -> bool:
        return not self._burst.ended and now - self._burst.last_at <= self.burst_gap_s

    def _typed(self, text: str, now: float) -> None:
        if self._in_burst(now):
            self._burst.text += text
            self._burst.last_at = now
        else:
            self._burst = _Burst(text, now)

    def _end_burst(self) -> None:
        self._burst.ended = True
        if self.on_burst is not None:
            self.on_burst(self._burst.text)

    def _forget_stuck(self, now: float) -> None:
        for key in [key for key, press in self._down.items() if now - press.seen_at > STUCK_S]:
            del self._down[key]

    @staticmethod
    def _text_of(key: int, codepoint: str | None, modifiers: Sequence[str]) -> str:
        if key in NUMPAD_KEYS:
            return str(key - 256) if key < 266 and "numlock" in modifiers else ""
        if key in SPECIAL_KEYS or key in KEY_ACTIONS or not codepoint:
            return ""
        return codepoint if len(codepoint) == 1 and codepoint.isprintable() else ""

    @staticmethod
    def _action_of(key: int, text: str, modifiers: Sequence[str]) -> Action | None:
        if key == TAB and "shift" in modifiers:
            return Action.PREVIOUS
        if key in NUMPAD_ARROWS:
            return None if "numlock" in modifiers else NUMPAD_ARROWS[key]
        return KEY_ACTIONS.get(key) or TEXT_ACTIONS.get(text)
