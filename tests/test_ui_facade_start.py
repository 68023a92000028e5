"""The touchscreen's facade, built and started on a thread from the first frame on
(``kiosk.ui.facade_start``): plain threads and a stand-in facade, no window."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

import pytest

from kiosk.ui.facade_start import FacadeStart

if TYPE_CHECKING:
    from kiosk.app import Kiosk


class Steps:
    """What happened to the stand-in facade, and on which thread."""

    def __init__(self) -> None:
        self.done: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.release.set()

    def make(self) -> Kiosk:
        self.release.wait(5)
        self.done.append(("made", threading.current_thread().name))
        return cast("Kiosk", object())

    def listen(self, _kiosk: Any) -> None:
        self.done.append(("listened", threading.current_thread().name))

    def start(self, _kiosk: Any) -> None:
        self.done.append(("started", threading.current_thread().name))


def test_begin_builds_listens_and_starts_the_facade_on_its_own_thread() -> None:
    steps = Steps()
    steps.release.clear()
    facade = FacadeStart(None, steps.make, made=steps.listen, start=steps.start)

    facade.begin()
    assert steps.done == []  # the caller (the first frame) does not wait for the build
    steps.release.set()
    kiosk = facade.kiosk  # waits for the thread

    assert steps.done == [
        ("made", "kiosk-facade"), ("listened", "kiosk-facade"), ("started", "kiosk-facade")
    ]
    assert facade.kiosk is kiosk and facade.built() is kiosk
    facade.begin()  # once only
    assert len(steps.done) == 3


def test_a_facade_used_before_begin_is_built_on_the_caller_and_started_by_begin() -> None:
    steps = Steps()
    facade = FacadeStart(None, steps.make, made=steps.listen, start=steps.start)

    kiosk = facade.kiosk
    facade.begin()

    main = threading.current_thread().name
    assert steps.done == [("made", main), ("listened", main), ("started", main)]
    assert facade.kiosk is kiosk


def test_a_given_facade_is_started_by_begin_on_the_caller_and_never_built() -> None:
    steps = Steps()
    given = cast("Kiosk", object())
    facade = FacadeStart(given, None, made=steps.listen, start=steps.start)

    assert facade.given is given
    facade.begin()

    assert steps.done == [("started", threading.current_thread().name)]
    assert facade.kiosk is given


def test_a_facade_that_could_not_be_built_raises_on_the_main_thread() -> None:
    def broken() -> Kiosk:
        raise OSError("the state directory is read-only")

    facade = FacadeStart(None, broken, made=lambda _k: None, start=lambda _k: None)
    facade.begin()

    with pytest.raises(RuntimeError, match="could not be built") as raised:
        _ = facade.kiosk
    assert isinstance(raised.value.__cause__, OSError)
    assert facade.built() is None  # nothing to close


def test_an_app_without_a_facade_or_a_way_to_build_one_is_refused() -> None:
    with pytest.raises(ValueError, match="make_kiosk"):
        FacadeStart(None, None, made=lambda _k: None, start=lambda _k: None)
