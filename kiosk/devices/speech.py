"""Audio guidance's voice: the offline speech engine espeak-ng, spoken on a worker thread.

Each utterance is one pipeline of two real programs::

    espeak-ng -v VOICE -s WORDS_PER_MINUTE -a AMPLITUDE --stdout --stdin | aplay -q -D DEVICE

espeak-ng alone cannot choose an ALSA device (it plays through the default one), and
guidance must reach the headphones' device (``[audio] guidance_device``), never a loudspeaker
the shop did not allow: ``aplay -D`` chooses the device, and the same ``--stdout`` renders a
WAV file for the tests. The text goes in on standard input, so a text that starts with "-" is
never read as an option.

``Speech.say`` only queues (it never waits: the UI thread calls it); ``interrupt`` kills the
utterance in progress at once (both programs) and drops the queue. Volume and rate are read
when an utterance starts. A kiosk without the engine, without ``aplay`` or without the audio
device keeps selling: the first failure of each kind is logged once, the utterance is dropped,
and later ones are tried again (a headset plugged in later works).

``SpeechOutput`` is the interface the screens use; the twin that records utterances for the
demo and the tests is ``kiosk.sim.virtual_speech.VirtualSpeech``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import subprocess
import threading
from dataclasses import dataclass
from typing import IO, Protocol

log = logging.getLogger(__name__)

VOICES: dict[str, str] = {"en": "en-gb", "de": "de"}
"""The espeak-ng voice for each language the screens speak (keys of ``kiosk.ui.i18n.LANGUAGES``;
a test checks both that every language has a voice and that espeak-ng has it)."""

ENGINE = "espeak-ng"
"""The speech engine's program (Debian package ``espeak-ng``)."""
PLAYER = "aplay"
"""The program that plays the engine's WAV on an ALSA device (Debian package ``alsa-utils``)."""

VOLUME_RANGE = (10, 100)
"""The volume a customer can set, percent (espeak-ng's amplitude is twice it: 0 to 200)."""
RATE_RANGE = (100, 280)
"""The speaking rate a customer can set, words per minute (espeak-ng's own default is 175)."""

_STOP = None  # put on the queue by ``close``


class SpeechOutput(Protocol):
    """What the screens may do with a voice (``Speech`` and its twin ``VirtualSpeech``)."""

    volume_percent: int
    """Loudness of the next utterance, percent (``VOLUME_RANGE``)."""
    rate_wpm: int
    """Speed of the next utterance, words per minute (``RATE_RANGE``)."""

    def say(self, text: str, language: str) -> None:
        """Queue ``text`` in ``language`` (a key of ``VOICES``) after what is queued; never
        waits."""

    def interrupt(self) -> None:
        """Stop the utterance in progress at once and drop the queue."""

    def close(self) -> None:
        """Stop speaking for good (the app stops)."""


def clamp(value: int, bounds: tuple[int, int]) -> int:
    """``value`` kept within ``bounds`` (low, high), both included."""
    low, high = bounds
    return max(low, min(high, value))


def engine_command(
    language: str, *, volume_percent: int, rate_wpm: int, engine: str = ENGINE
) -> list[str]:
    """The engine's command line for one utterance read from standard input, its WAV on
    standard output. A language without a voice of its own is spoken with the English one."""
    return [
        engine,
        "-v", VOICES.get(language, VOICES["en"]),
        "-s", str(clamp(rate_wpm, RATE_RANGE)),
        "-a", str(2 * clamp(volume_percent, VOLUME_RANGE)),
        "--stdout",
        "--stdin",
    ]


@dataclass(frozen=True)
class _Utterance:
    text: str
    language: str
    generation: int


class Speech:
    """espeak-ng into ``aplay -D device`` (an ALSA PCM name, such as ``plughw:CARD=Headset``),
    one utterance at a time on its own thread, started with the first ``say``."""

    def __init__(
        self,
        device: str,
        *,
        volume_percent: int = 80,
        rate_wpm: int = 160,
        engine: str = ENGINE,
        player: str = PLAYER,
    ) -> None:
        self.device = device
        self.volume_percent = volume_percent
        self.rate_wpm = rate_wpm
        self._engine = engine
        self._player = player
        self._queue: queue.Queue[_Utterance | None] = queue.Queue()
        self._lock = threading.Lock()
        self._running: tuple[subprocess.Popen[bytes], ...] = ()
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failures_logged: set[str] = set()
        self.handled = 0
        """Utterances the worker took from the queue (spoken, failed or dropped)."""
        self.started = 0
        """Utterances whose programs started."""
        self.spoken = 0
        """Utterances played to their end."""

    # ------------------------------------------------------------------ the UI's side

    def say(self, text: str, language: str) -> None:
        """Queue ``text`` in ``language``; returns at once (the worker speaks it)."""
        if self._closed or not text.strip():
            return
        with self._lock:
            generation = self._generation
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="speech", daemon=True
                )
                self._thread.start()
        self._queue.put(_Utterance(text, language, generation))

    def interrupt(self) -> None:
        """Drop the queue and kill the utterance in progress (both programs are gone, and
        reaped, when this returns)."""
        with self._lock:
            self._generation += 1
            running, self._running = self._running, ()
        _drain(self._queue)
        for process in running:
            _kill(process)

    def close(self) -> None:
        """Stop speaking and let the worker end."""
        self._closed = True
        self.interrupt()
        self._queue.put(_STOP)

    @property
    def processes(self) -> tuple[int, ...]:
        """The process ids of the utterance being spoken (empty when silent)."""
        with self._lock:
            return tuple(process.pid for process in self._running)

    # ------------------------------------------------------------------ the worker

    def _work(self) -> None:
        while True:
            utterance = self._queue.get()
            if utterance is None:
                return
            with self._lock:
                current = utterance.generation == self._generation
            if current and not self._closed:
                self._speak(utterance)
            self.handled += 1

    def _speak(self, utterance: _Utterance) -> None:
        """Run one utterance's pipeline to its end (or until ``interrupt`` kills it)."""
        command = engine_command(
            utterance.language, volume_percent=self.volume_percent, rate_wpm=self.rate_wpm,
            engine=self._engine,
        )
        try:
            engine = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as error:
            self._failed("engine", f"audio guidance is silent: cannot run {command[0]}: {error}")
            return
        try:
            player = subprocess.Popen(
                [self._player, "-q", "-D", self.device], stdin=engine.stdout,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        except OSError as error:
            _kill(engine)
            self._failed("player", f"audio guidance is silent: cannot run {self._player}: {error}")
            return
        finally:
            _close(engine.stdout)  # the player holds the pipe now
        if not self._started(utterance, (engine, player)):
            return
        _feed(engine.stdin, utterance.text)
        problem = player.communicate()[1]
        engine.wait()
        with self._lock:
            interrupted = self._running != (engine, player)
            self._running = ()
            if player.returncode == 0 and not interrupted:  # (counted before interrupt returns)
                self.spoken += 1
        if interrupted:
            return
        if player.returncode != 0:
            detail = problem.decode(errors="replace").strip() or f"exit {player.returncode}"
            self._failed("device", f"audio guidance is silent on {self.device!r}: {detail}")
        else:
            if self._failures_logged:
                log.info("audio guidance speaks again on %r", self.device)
                self._failures_logged.clear()

    def _started(
        self, utterance: _Utterance, pipeline: tuple[subprocess.Popen[bytes], ...]
    ) -> bool:
        """Register the running pipeline, unless an interrupt came in between (then kill it)."""
        with self._lock:
            if utterance.generation == self._generation and not self._closed:
                self._running = pipeline
                self.started += 1
                return True
        for process in pipeline:
            _kill(process)
        return False

    def _failed(self, kind: str, message: str) -> None:
        if kind not in self._failures_logged:
            self._failures_logged.add(kind)
            log.warning(message)


def _feed(stdin: IO[bytes] | None, text: str) -> None:
    """Hand the engine its text (it may be killed meanwhile: a broken pipe is no error)."""
    if stdin is None:
        return
    with contextlib.suppress(OSError, ValueError):  # BrokenPipeError is an OSError
        stdin.write(text.encode())
        stdin.close()


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and reap it (a killed process exits within milliseconds)."""
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        log.warning("the speech process %d did not exit after SIGKILL", process.pid)


def _close(stream: IO[bytes] | None) -> None:
    if stream is not None:
        stream.close()


def _drain(waiting: queue.Queue[_Utterance | None]) -> None:
    """Empty the queue (a ``close`` marker found there is put back)."""
    stop = False
    while True:
        try:
            item = waiting.get_nowait()
        except queue.Empty:
            break
        stop = stop or item is None
    if stop:
        waiting.put(_STOP)
