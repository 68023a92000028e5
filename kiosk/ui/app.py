"""The Kivy application: one window, the customer screens, and the facade behind them.

``KioskApp`` owns the widgets; every decision is the facade's (``kiosk.app.Kiosk``, staff menu
``Kiosk.staff``), the checkout machine's or the view-model's (``kiosk.ui.customer_view``).
Notices arrive on the main thread (``kivy_post``); the resulting ``CustomerView`` is copied into
the properties the ``.kv`` files bind to. The timers stay here (messages, thank-you, staff PIN
pad, the language and modes reset). Staff reach their menu through the corner button's PIN pad
or a PIN at an attendant call. Replacing ``app.tr`` (a ``Translator``) on a language switch, or
``app.colours`` for a mode (``kiosk.ui.accessibility``), changes the whole window at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp, sp
from kivy.properties import (
    BooleanProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.config import Settings
from kiosk.core.checkout_states import CheckoutState, ReceiptChoice
from kiosk.ui import theme
from kiosk.ui.accessibility import SHOP_DEFAULTS, colours_of, modes_expired
from kiosk.ui.customer_view import (
    CustomerView,
    Situation,
    customer_view,
    language_expired,
    reaction_to,
    session_step,
    staff_check_text,
)
from kiosk.ui.demo_info import DemoInfo
from kiosk.ui.facade_start import FacadeStart
from kiosk.ui.guidance_on_screen import GuidanceOnScreen
from kiosk.ui.i18n import Translator, first_language, language_of, offered_languages
from kiosk.ui.memory_moments import give_back_once_switched
from kiosk.ui.modes_on_screen import apply_modes
from kiosk.ui.screen_building import (
    BUILT_AFTER_FIRST_FRAME,
    add_screen,
    load_demo_kv,
    load_idle_prompt_kv,
    load_kv,
)
from kiosk.ui.screen_message import ScreenMessage
from kiosk.ui.shop_logo import logo_source
from kiosk.ui.sizes_on_screen import apply_sizes
from kiosk.ui.sounds import Sounds
from kiosk.ui.staff_login import StaffLoginPad
from kiosk.ui.thank_you import ThankYouTime, draw_ereceipt_qr
from kiosk.ui.timeout_warnings import TimeoutWarnings
from kiosk.ui.widgets.basic import KioskRoot  # also registers the kv classes it defines
from kiosk.ui.widgets.idle_prompt import IdlePrompt

if TYPE_CHECKING:  # the facade's modules load after the first frame (``make_kiosk``),
    # and with them the notices (and the checkout's dataclasses they carry)
    from kiosk.app import Kiosk
    from kiosk.notices import (
        AttendantCalled,
        CartRefused,
        Notice,
        ReceiptUnavailable,
        SaleEnded,
        ScanRejected,
        SessionChanged,
        StaffMenuChanged,
    )

log = logging.getLogger(__name__)

THANK_YOU_S = 6.0
"""How long the thank-you screen stays before the attract screen, seconds (longer with a QR
code to scan: ``kiosk.ui.customer_view.THANK_YOU_QR_S``)."""
STAFF_LOGIN_S = 30.0
"""Seconds without a touch after which the staff PIN pad goes back to the customer's screen."""

FIRST_FRAME_WAIT_S = 2.0
"""The facade starts after the first frame, or after this many seconds without one."""

def kivy_post(callback: Callable[[], None]) -> None:
    """Run ``callback`` on Kivy's main thread (the facade's ``post_to_main``)."""
    Clock.schedule_once(lambda _dt: callback())


class KioskApp(App):
    """The touchscreen kiosk on a started-or-starting ``Kiosk`` facade."""

    tr: Any = ObjectProperty(None, rebind=True)
    """The Translator of the current language; kv: ``app.tr("Pay")`` (``rebind``: also
    ``app.tr.ntr(...)`` follows a language switch)."""
    language = StringProperty("en")
    language_choices = ListProperty([])
    scale = NumericProperty(1.0)
    body_sp = NumericProperty(sp(theme.BODY_SP))
    small_sp = NumericProperty(sp(theme.SMALL_SP))
    price_sp = NumericProperty(sp(theme.PRICE_SP))
    title_sp = NumericProperty(sp(theme.TITLE_SP))
    touch_dp = NumericProperty(dp(theme.TOUCH_TARGET_DP))
    gap_dp = NumericProperty(dp(16))
    portrait = BooleanProperty(False)
    layout = StringProperty("large")  # kiosk.ui.sizing's layout class
    touch_min = NumericProperty(dp(48))
    shop_name = StringProperty("")
    banners = ListProperty([])
    message = StringProperty("")
    message_is_error = BooleanProperty(False)
    cart_rows = ListProperty([])
    item_count = NumericProperty(0)
    subtotal_text = StringProperty("")
    tax_text = StringProperty("")
    total_text = StringProperty("")
    taxes_included = BooleanProperty(True)
    sale_number_text = StringProperty("")
    attendant_reason = StringProperty("")
    payment_mode = StringProperty("waiting")
    payment_view: Any = ObjectProperty(None, rebind=True)
    """The payment screen's ``kiosk.ui.customer_view.PaymentView`` (kv: ``app.payment_view``)."""
    attendant_view: Any = ObjectProperty(None, rebind=True)
    """The needs-attendant screen's ``AttendantView``."""
    checking_view: Any = ObjectProperty(None, rebind=True)
    """The checking screen's ``NoticeBoard``; ``closed_view`` and ``thank_you_view`` likewise.
    (``rebind``: kv rules reading ``app.checking_view.title`` follow a new view.)"""
    closed_view: Any = ObjectProperty(None, rebind=True)
    thank_you_view: Any = ObjectProperty(None, rebind=True)
    payment_code = StringProperty("")
    payment_pending = BooleanProperty(False)
    recovery = StringProperty("")
    closed = BooleanProperty(False)
    start_failed = BooleanProperty(False)
    receipt_status = StringProperty("")
    qr_source = StringProperty("")
    idle_countdown = NumericProperty(0)
    logo_source = StringProperty("")  # the shop's logo, "" for its name: kiosk.ui.shop_logo
    demo = BooleanProperty(False)
    demo_info: Any = ObjectProperty(None, allownone=True)
    demo_card = StringProperty("approved")
    staff_message = StringProperty("")
    staff_open = BooleanProperty(False)
    """A staff session is open: the staff menu is on screen."""
    attendant_pad_shown = BooleanProperty(False)
    """Staff touched "Staff" on the needs-attendant screen: its PIN pad shows."""
    staff_name = StringProperty("")
    staff_role = StringProperty("")
    """``attendant`` or ``manager`` while the staff menu is open."""
    current_screen = StringProperty("attract")
    colours = DictProperty({})
    modes: Any = ObjectProperty(SHOP_DEFAULTS)  # kiosk.ui.accessibility.Modes
    accessibility_offered = BooleanProperty(False)

    __events__ = ("on_attendant_called",)

    def __init__(
        self,
        kiosk: Kiosk | None,
        settings: Settings,
        *,
        demo: DemoInfo | None = None,
        sounds: Sounds | None = None,
        thank_you_s: float = THANK_YOU_S,
        staff_login_s: float = STAFF_LOGIN_S,
        on_first_frame: Callable[[str], None] | None = None,
        make_kiosk: Callable[[], Kiosk] | None = None,
        **kwargs: Any,
    ) -> None:
        """``on_first_frame(screen_name)`` runs once the first screen has been drawn (the
        service sends READY=1 there; ``bench/startup.py`` stops its clock there).
        ``staff_login_s``: the staff PIN pad's time without a touch, seconds. Without a
        ``kiosk``, ``make_kiosk()`` builds the facade after the first frame (or when first
        used), so drawing the first screen does not load the facade's modules."""
        super().__init__(**kwargs)
        self._facade = FacadeStart(
            kiosk, make_kiosk, made=lambda made: made.listen(self._on_notice),
            start=self._start_facade,
        )
        self.settings = settings
        self.default_language = language_of(settings.shop.locale)
        self.offered_languages = offered_languages(settings.shop.languages, settings.shop.locale)
        self.tr = Translator(self.default_language, settings.shop.locale, settings.shop.currency)
        self.language = self.default_language
        self.shop_name = settings.shop.name
        self.logo_source = logo_source(settings.shop.logo)
        self.timeouts = TimeoutWarnings(self)
        self.demo = demo is not None
        self.demo_info = demo
        self.sounds = sounds or Sounds()
        self.thank_you_s = thank_you_s
        self.exit_code = 0
        """The process's exit code once the app stops: 0, or the code of a staff member's
        ``AppExitRequested`` (restart the app, leave it)."""
        self.colours = colours_of(SHOP_DEFAULTS, settings.shop.accent_colour)
        self._on_first_frame = on_first_frame
        self._session: SessionChanged | None = None
        self._explaining_decline = False
        self.thank_you_time = ThankYouTime(lambda: self._end_thank_you())
        """The thank-you screen's time ("More time" on its QR code extends it)."""
        self._message = ScreenMessage(self._put_message)
        self._scanner_down = False
        self._payments_down: str | None = None
        self._printer_trouble: str | None = None
        self._ended_sale: str | None = None
        self._idle_prompt: IdlePrompt | None = None
        self._left_payment = False
        self._touched_at = time.monotonic()
        self._started_facade = False
        self.key_navigation: Any = None
        """The keypad's focus ring (``kiosk.ui.key_navigation``), started after the first frame."""
        self._start_event: Any = None
        self._staff_login = StaffLoginPad(staff_login_s, lambda: self.close_staff_login())
        self.title = settings.shop.name
        self.guidance = GuidanceOnScreen(self)  # audio guidance: speaks what is drawn
        self._refresh()  # the screens' views exist before their kv rules read them

    @property
    def kiosk(self) -> Kiosk:
        """The facade (built by ``make_kiosk`` on a thread from the first frame on, or here on
        first use; listened to from then on): see ``kiosk.ui.facade_start``."""
        return self._facade.kiosk

    @property
    def staff_login_s(self) -> float:
        """A staff PIN pad's time without a touch, seconds (the attendant screen's too)."""
        return self._staff_login.wait_s

    @staff_login_s.setter
    def staff_login_s(self, seconds: float) -> None:
        self._staff_login.wait_s = seconds

    # ------------------------------------------------------------------------ lifecycle

    def build(self) -> KioskRoot:
        """Load the ``.kv`` files and build the window's content."""
        load_kv()
        root = KioskRoot()
        manager: ScreenManager = root.screens
        manager.transition = NoTransition()
        # Only the first screen now: the others are built right after it is drawn (or when
        # first needed), so the kiosk shows its face as early as it can.
        self._add_screen("attract", manager)
        if self.demo:
            load_demo_kv()
            from kiosk.ui.widgets.demo_panel import DemoPanel

            root.demo_box.add_widget(DemoPanel())
        self.bind(banners=root.show_banners)
        Window.clearcolor = self.colours["background"]
        Window.bind(size=self._on_window_size)
        self._on_window_size(Window, Window.size)
        return root

    def on_start(self) -> None:
        """Listen to the facade, start it in the background and the once-a-second tick."""
        if self._facade.given is not None:
            self._facade.given.listen(self._on_notice)
        Window.bind(on_touch_down=self._on_any_touch)
        Window.bind(on_flip=self._on_flip)
        Clock.schedule_interval(self._tick, 1.0)
        self._show()
        # The facade starts once the first screen is up (a window that never flips: after
        # FIRST_FRAME_WAIT_S, counted from the first tick: Kivy counts from the last tick).
        self._start_event = Clock.schedule_once(lambda _dt: self._arm_start_fallback())

    def _arm_start_fallback(self) -> None:
        if not self._started_facade:
            self._start_event = Clock.schedule_once(
                lambda _dt: self._after_first_frame(), FIRST_FRAME_WAIT_S
            )

    def on_stop(self) -> None:
        """Close the facade: pending writes finish, the open cart stays for the next start."""
        Window.unbind(on_touch_down=self._on_any_touch)
        Window.unbind(size=self._on_window_size)
        Window.unbind(on_flip=self._on_flip)
        Clock.unschedule(self._tick)
        if self._start_event is not None:
            self._start_event.cancel()
        self._staff_login.forget()
        kiosk = self._facade.built()
        if kiosk is not None:
            kiosk.close()

    def open_settings(self, *_args: Any) -> bool:
        """Never open Kivy's settings panel (F1 or the menu key on a plugged-in keyboard)."""
        return False

    def on_attendant_called(self, reason: str, sale_id: str | None) -> None:
        """Staff were called (``reason``: help, age_check, unknown_item...). The screen says
        so; bind here to light a lamp or tell the back office."""

    def _on_flip(self, *_args: Any) -> None:
        Window.unbind(on_flip=self._on_flip)
        log.info("first screen drawn: %s", self.current_screen)
        if self._on_first_frame is not None:
            self._on_first_frame(self.current_screen)
        # In the next tick: the frame is on screen then (the swap follows this event, and a
        # thread importing beside it would delay it).
        Clock.schedule_once(lambda _dt: self._after_first_frame())

    def _after_first_frame(self) -> None:
        """Build and start the facade on its thread, the main thread free meanwhile (frames,
        touches). `BUILT_AFTER_FIRST_FRAME` are built once the kiosk takes scans (a scan kept
        meanwhile builds the shopping screen as it shows it): built meanwhile, they would slow
        down the opening of the store (Python's lock)."""
        if self._started_facade:
            return
        self._started_facade = True
        if self._start_event is not None:
            self._start_event.cancel()
        self._facade.begin()
        from kiosk.ui.key_navigation import KeyNavigation  # keys: from the first frame on

        self.key_navigation = KeyNavigation.started(
            self, activity=self._on_any_touch, on_key=self.guidance.interrupt
        )

    def _start_facade(self, kiosk: Kiosk) -> None:
        """Start the facade in the background (on the thread that built it, if any)."""
        kiosk.start_in_background(on_failed=self._on_failed, on_taking_scans=self._on_taking_scans)

    def _build_soon(self, names: tuple[str, ...]) -> None:
        """Build the screens ``names`` one per tick, so the start's steps and a first scan
        reach the main thread between them."""
        if names:
            def build(_dt: float) -> None:
                self._add_screen(names[0])
                self._build_soon(names[1:])

            Clock.schedule_once(build)

    def _add_screen(self, name: str, manager: ScreenManager | None = None) -> None:
        add_screen(manager or self.root.screens, name)

    def _on_taking_scans(self) -> None:
        self._build_soon(BUILT_AFTER_FIRST_FRAME)  # those built already are skipped
        self._apply_runtime_settings()
        try:
            self.kiosk.connect_scanner()
        except OSError as error:  # the banner says so; the kiosk keeps running
            log.error("the scanner could not be started: %s", error)
            self._scanner_down = True
            self._refresh()

    def _on_failed(self, error: BaseException) -> None:
        log.error("the kiosk could not start: %s", error)
        self.start_failed = True
        self._show()

    def _on_window_size(self, _window: Any, size: tuple[int, int]) -> None:
        apply_sizes(self, size)

    # ------------------------------------------------------------------------ language

    def set_language(self, language: str) -> None:
        """Switch every word and number format on screen (never the currency)."""
        if language == self.language:
            return
        self.tr = Translator(language, self.settings.shop.locale, self.settings.shop.currency)
        self.language = language
        self._message.retell(self.tr)
        if self._refresh().state is not CheckoutState.IDLE_PROMPT and self._session is not None:
            self.idle_countdown = 0

    # ------------------------------------------------------------------- customer actions

    def scan_demo_item(self, barcode: str) -> None:
        """Demo: "scan" ``barcode`` through the virtual scanner (the real serial path)."""
        scanner = self.kiosk.virtual_scanner
        if scanner is not None:
            scanner.scan(barcode)

    def choose_demo_card(self, kind: str) -> None:
        """Demo: the card the simulated customer taps next (approved, declined...)."""
        self.kiosk.set_demo_card(kind)
        self.demo_card = kind

    def change_quantity(self, line_id: int, delta: int) -> None:
        """The customer pressed + or - on a cart line."""
        session = self._session
        if session is None:
            return
        for line in session.checkout.cart.lines:
            if line.line_id == line_id:
                if line.quantity + delta <= 0:
                    self.kiosk.remove_line(line_id)
                else:
                    self.kiosk.set_quantity(line_id, line.quantity + delta)
                return

    def remove_line(self, line_id: int) -> None:
        """The customer removed a cart line."""
        self.kiosk.remove_line(line_id)

    def pay(self) -> None:
        """Pay (again, after a decline)."""
        self._explaining_decline = False
        self.kiosk.pay()
        self._show()

    def back_to_cart(self) -> None:
        """Leave the card screen (or the decline explanation) for the cart."""
        if self._explaining_decline:
            self._explaining_decline = False
            self._show()
            return
        self._left_payment = True
        self.kiosk.back_to_cart()

    def withdraw_call(self) -> None:
        """Back to the cart without waiting for staff (not while a payment is checked)."""
        self.kiosk.withdraw_call()

    def ask_for_help(self) -> None:
        """Help: staff is called and the screen says so."""
        self.kiosk.request_help()

    def start_over(self) -> None:
        """Cancel the whole sale (refused while a payment may still complete)."""
        self._explaining_decline = False
        self.kiosk.cancel_sale()

    def still_here(self) -> None:
        """The customer answered the inactivity prompt."""
        self.kiosk.touch()

    def choose_receipt(self, choice: str) -> None:
        """The customer chose a printed receipt, a QR e-receipt or none."""
        self.kiosk.choose_receipt(ReceiptChoice(choice))

    def thank_you_done(self) -> None:
        """Leave the thank-you screen for the attract screen now (not when "Done" sits where
        the receipt choice was and a double tap on that choice reaches it)."""
        if self.thank_you_time.done_allowed():
            self._end_thank_you()

    def staff_answer(self, staff_number: int, pin: str) -> None:
        """A staff member entered their number and PIN on the attendant screen."""
        self.staff_message = ""
        self.kiosk.attend(staff_number, pin)

    def set_closed(self, closed: bool) -> None:
        """Show the kiosk closed to customers, or open again (the staff menu's switch goes
        through the facade, ``kiosk.staff.set_closed``, whose notice lands here)."""
        self.closed = closed
        self._show()

    # --------------------------------------------------------------------------- staff

    def open_staff_login(self) -> None:
        """The corner button: the staff PIN pad over the customer's screen (never while a
        card payment is in flight)."""
        if self.payment_pending or self.current_screen in ("payment", "paid"):
            return
        self.staff_message = ""
        self._staff_login.show()
        self._show()

    def close_staff_login(self) -> None:
        """Back from the staff PIN pad to the customer's screen."""
        self._staff_login.hide()
        self._show()

    def staff_log_in(self, staff_number: int, pin: str) -> None:
        """A staff member typed their number and PIN on the staff PIN pad (the answer comes
        as ``StaffChecked``, and on a right PIN ``StaffMenuChanged``)."""
        self.staff_message = ""
        self.kiosk.staff.log_in(staff_number, pin)

    def staff_log_out(self) -> None:
        """"Back to the customer": close the staff menu."""
        self.kiosk.staff.log_out()

    def _on_staff_menu(self, notice: StaffMenuChanged) -> None:
        if notice.open:
            session = self.kiosk.staff.session
            self._staff_login.hide()
            self.staff_message = ""
            self.staff_name = session.name if session is not None else str(notice.staff_number)
            self.staff_role = notice.role or ""
            self.staff_open = True
            self._add_screen("staff_menu")
            self.root.screens.get_screen("staff_menu").open_session(notice.reason)
        else:  # back to the customer, whatever the reason: nothing to say to them
            self.staff_open = False
            if self.root.screens.has_screen("staff_menu"):
                self.root.screens.get_screen("staff_menu").close_session()
            self.staff_name = self.staff_role = ""
            thanking = self.thank_you_time.showing
            if self.kiosk.checkout.state is CheckoutState.ATTRACT and not thanking:
                self._reset_language()  # the next customer starts in the shop's language
        self._show()

    def _apply_runtime_settings(self) -> None:
        """The settings staff changed at the kiosk, as stored (closed, the first language)."""
        stored = self.kiosk.staff_settings  # read without building the staff menu
        self.closed = stored.closed()
        for key, value in stored.runtime_values().items():
            if key in ("sound.volume", "shop.default_language"):
                self._apply_setting(key, value)
        self._show()

    def _apply_setting(self, key: str, value: object) -> None:
        if key == "sound.volume" and isinstance(value, int):
            self.sounds.volume_percent = value
        elif key == "shop.default_language" and isinstance(value, str):
            self.default_language = first_language(
                value, self.settings.shop.languages, self.settings.shop.locale
            )
            if self.current_screen == "attract" and not self.thank_you_time.showing:
                self._reset_language()

    def _on_any_touch(self, _window: Any, _touch: Any) -> bool:
        if self.thank_you_time.ended_by_touch(bool(self.qr_source)):
            Clock.schedule_once(lambda _dt: self._end_thank_you(), 0.2)
        self._touched_at = time.monotonic()
        if self.staff_open:
            self.kiosk.staff.touch()  # the staff menu's inactivity timeout starts again
            return False
        self._staff_login.touched()
        prompt = self._idle_prompt
        if prompt is not None and prompt.parent is not None:
            return False  # the prompt answers (see IdlePrompt): closing it here would let
            # this touch fall through to the button under "Yes, continue" or "Start over"
        self.timeouts.touched()
        self.kiosk.touch()
        return False

    # -------------------------------------------------------------------------- notices

    def _on_notice(self, notice: Notice) -> None:
        from kiosk import notices as sent  # loaded with the facade, which sends them

        self._on_customer_notice(notice)
        if isinstance(notice, sent.StaffMenuChanged):
            self._on_staff_menu(notice)
        elif isinstance(notice, sent.KioskClosedChanged):
            self.set_closed(notice.closed)
        elif isinstance(notice, sent.RuntimeSettingChanged):
            self._apply_setting(notice.key, notice.value)
        elif isinstance(notice, sent.AppExitRequested):
            log.info("a staff member asked the app to exit with code %d", notice.code)
            self.exit_code = notice.code
            Clock.schedule_once(lambda _dt: self.stop())
            return
        if self.staff_open and not isinstance(notice, sent.StaffMenuChanged):
            self.root.screens.get_screen("staff_menu").on_notice(notice)

    def _on_customer_notice(self, notice: Notice) -> None:
        from kiosk import notices as sent  # loaded with the facade, which sends them

        if isinstance(notice, sent.SessionChanged):
            self._on_session(notice)
        elif isinstance(notice, (sent.ScanRejected, sent.CartRefused, sent.AttendantCalled)):
            self._react(notice)
        elif isinstance(notice, sent.IdlePromptShown):
            self.idle_countdown = self.timeouts.walk_away_s()
        elif isinstance(notice, sent.StaffChecked):
            self.staff_message = staff_check_text(
                notice, self.tr, lambda at: self.local_time(at, seconds=True)
            )
        elif isinstance(notice, sent.SaleEnded):
            self._on_sale_ended(notice)
        elif isinstance(notice, sent.ScannerStateChanged):
            self._scanner_down = notice.state == "disconnected"
            self._refresh()
        elif isinstance(notice, sent.PaymentsAvailability):
            self._payments_down = None if notice.available else notice.reason
            self._refresh()
        elif isinstance(notice, sent.PaymentRecovery):
            self.recovery = "" if notice.state == "settled" else notice.state
            self._show()
        elif isinstance(notice, sent.ReceiptPrinted):
            self._printer_trouble = None
            if notice.sale_id == self._ended_sale:
                self.receipt_status = "printed"
            self._refresh()
        elif isinstance(notice, sent.ReceiptUnavailable):
            self._on_receipt_unavailable(notice)
        elif isinstance(notice, sent.StoreTrouble):
            log.warning("store trouble: %s", notice.detail)

    def _react(self, notice: ScanRejected | CartRefused | AttendantCalled) -> None:
        reaction = reaction_to(
            notice, self.tr, screen=self.current_screen, staff_login=self._staff_login.shown
        )
        if reaction.sound is not None:
            self.sounds.play(reaction.sound)
        if reaction.message is not None:
            self._message.say(reaction.message, self.current_screen)
        if reaction.staff_message is not None:
            self.staff_message = reaction.staff_message
        from kiosk import notices as sent  # loaded with the facade, which sends them

        if isinstance(notice, sent.AttendantCalled):
            log.info("attendant called: %s (sale %s)", notice.reason, notice.sale_id)
            self.dispatch("on_attendant_called", notice.reason.value, notice.sale_id)

    def _on_session(self, notice: SessionChanged) -> None:
        before = self._session
        self._session = notice
        step = session_step(
            before, notice, explaining_decline=self._explaining_decline,
            left_payment=self._left_payment, thanking=self.thank_you_time.showing, tr=self.tr,
        )
        self._explaining_decline = step.explaining_decline
        self._left_payment = step.left_payment
        if step.item_added:  # the last scan's message is done with (before this step's own)
            self._message.clear()
        if step.message is not None:
            self._message.say(step.message, None)  # for the screen this step leads to
        if step.end_recovery:
            self.recovery = ""  # the attendant screen (with the staff PIN pad) takes over
        if step.end_thank_you:
            self._end_thank_you(show=False)
        elif step.reset_language:
            self._reset_language()
        if notice.checkout.state is not CheckoutState.IDLE_PROMPT:
            self.idle_countdown = 0
        if step.item_added:
            self.sounds.play("scan_ok")
        self._show()
        if notice.checkout.state is CheckoutState.PAID and (
            before is None or before.checkout.state is not CheckoutState.PAID
        ):  # the cart's drawing is done: its freed heap goes back to the system
            give_back_once_switched(self.root.screens, "sale paid")

    def _on_sale_ended(self, notice: SaleEnded) -> None:
        self._ended_sale = notice.sale_id
        self.qr_source = ""
        self.receipt_status = ""
        if notice.receipt is ReceiptChoice.PRINT:
            self.receipt_status = "printing"
        elif notice.receipt is ReceiptChoice.QR:
            self._show_qr(notice.sale_id)
        self.thank_you_time.begin(self.timeouts.thank_you_s(bool(self.qr_source)))
        self._show()

    def _on_receipt_unavailable(self, notice: ReceiptUnavailable) -> None:
        self._printer_trouble = notice.status
        if notice.sale_id == self._ended_sale and not notice.will_retry:
            self.receipt_status = "unavailable"
            if notice.ereceipt_url and not self.qr_source:
                self._show_qr(notice.sale_id)
                if self.qr_source and self.thank_you_time.showing:
                    self.thank_you_time.wait(self.timeouts.thank_you_s(True))
        self._refresh()

    def _show_qr(self, sale_id: str) -> None:
        path = draw_ereceipt_qr(self.settings, sale_id)
        if path is not None:
            self.qr_source = ""
            self.qr_source = path

    def _end_thank_you(self, *, show: bool = True) -> None:
        if not self.thank_you_time.end():
            return
        self._reset_language()
        if show:
            self._show()

    def _reset_language(self) -> None:
        """A session ends in the shop's language and modes: the next customer starts there."""
        self.set_language(self.default_language)
        apply_modes(self, SHOP_DEFAULTS)

    # ------------------------------------------------------------------------- drawing

    def _situation(self) -> Situation:
        """What the app knows beyond the session (``kiosk.ui.customer_view.Situation``)."""
        return Situation(
            recovery=self.recovery,
            start_failed=self.start_failed,
            closed=self.closed,
            explaining_decline=self._explaining_decline,
            thanking=self.thank_you_time.showing,
            staff_login=self._staff_login.shown,
            staff_menu=self.staff_open,
            scanner_down=self._scanner_down,
            payments_down=self._payments_down,
            printer_trouble=self._printer_trouble,
            qr_receipts=bool(self.settings.backoffice.url),
            taxes_included=self.settings.tax.mode == "inclusive",
            payment_mode=self.payment_mode,
            payment_code=self.payment_code,
            receipt_status=self.receipt_status,
            qr_shown=bool(self.qr_source),
            reader_position=self.settings.display.reader_position,
            languages=self.offered_languages,
        )

    def _refresh(self) -> CustomerView:
        """Copy what the customer screens show into the properties the ``.kv`` files bind to
        (the screen itself changes in ``_show``)."""
        view = customer_view(self._session, self._situation(), self.tr)
        self.guidance.view_changed(view)
        self.cart_rows = [asdict(line) for line in view.lines]
        self.item_count = view.item_count
        self.subtotal_text = view.subtotal_text
        self.tax_text = view.tax_text
        self.total_text = view.total_text
        self.taxes_included = view.taxes_included
        self.sale_number_text = view.sale_number_text
        self.attendant_reason = view.attendant_reason
        self.payment_mode = view.payment.mode
        self.payment_code = view.payment.code
        self.payment_pending = view.payment.pending
        self.payment_view = view.payment
        self.attendant_view = view.attendant
        self.checking_view = view.checking
        self.closed_view = view.closed
        self.thank_you_view = view.thank_you
        self.banners = list(view.banners)
        self.language_choices = list(view.language_choices)
        self.accessibility_offered = view.accessibility_offered
        return view

    def _put_message(self, text: str, error: bool) -> None:
        self.message = text
        self.message_is_error = error
        self.guidance.message_shown(text)

    def _show(self) -> None:
        view = self._refresh()
        if self.root is None:
            return
        name = view.screen
        if self._staff_login.shown and not view.staff_login:  # a card payment took over
            self._staff_login.hide()
        if view.idle_prompt and self._idle_prompt is None:  # built the first time it shows
            load_idle_prompt_kv()
            self._idle_prompt = IdlePrompt()
        prompt = self._idle_prompt
        if prompt is not None:  # never over the staff screens: staff are at the kiosk
            if view.idle_prompt and prompt.parent is None:
                prompt.open(animation=False)
            elif not view.idle_prompt and prompt.parent is not None:
                prompt.dismiss(animation=False)
        self._message.screen_shown(name)  # a message belongs to its screen
        self._add_screen(name)
        if self.root.screens.current != name:
            log.info("screen %s -> %s", self.root.screens.current, name)
            self.root.screens.current = name
        self.current_screen = name
        self.timeouts.shown(view)

    def _tick(self, _dt: float) -> None:
        self.timeouts.tick()  # the facade's tick, in the customer's modes
        idle_s = time.monotonic() - self._touched_at
        if language_expired(self.current_screen, self.language, self.default_language, idle_s
                            ) or modes_expired(self.current_screen, self.modes, idle_s):
            self._reset_language()
        if self.idle_countdown > 0:
            self.idle_countdown -= 1

    # ----------------------------------------------------------------------- kv helpers

    def local_time(self, at: datetime, *, seconds: bool = False) -> str:
        """An aware time as the shop's clock shows it: ``14:05`` (``14:05:09`` with seconds)."""
        return at.astimezone(self.settings.shop.zone()).strftime(
            "%H:%M:%S" if seconds else "%H:%M"
        )
