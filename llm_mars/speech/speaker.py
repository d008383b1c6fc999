"""Spoken answers: the commander's final responses said aloud and/or saved as WAV files.

What is said (:func:`spoken_text`): answers, replies, stops and errors in their own words (the
first line only: an invalid-plan error lists validator details after it); for a plan, who got
it ("Plan sent to robot one."), not the tree. Progress reports are not spoken.

:class:`Speaker` works on a thread of its own, one response at a time in arrival order, so a
ROS callback never waits for espeak-ng. While it talks, :attr:`Speaker.talking` is set: a
node listening on a microphone drops that audio instead of hearing itself.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable
from pathlib import Path

from llm_mars.errors import SpeechError
from llm_mars.payloads import OperatorResponse
from llm_mars.speech.prompt import spell
from llm_mars.speech.synthesis import DEFAULT_RATE, DEFAULT_VOICE, speak, synthesize

MAX_SPOKEN_CHARS = 400
log = logging.getLogger(__name__)


def spoken_text(response: OperatorResponse) -> str | None:
    """The sentence to say for a response, or None for responses that are not spoken."""
    if not response.final:
        return None
    if response.kind == "plan":
        robots = " and ".join(spell(r) for r in response.robots or ()) or "the robots"
        verb = "queued for" if response.mode == "queue" else "sent to"
        return f"Plan {verb} {robots}."
    first_line = response.text.strip().splitlines()[0] if response.text.strip() else ""
    return first_line[:MAX_SPOKEN_CHARS] or None


def wav_name(response: OperatorResponse) -> str:
    """File name for a saved answer: the utterance id, made safe for any file system."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", response.id)[:64] + ".wav"


class Speaker:
    """Says and/or saves responses on a background thread; :meth:`close` finishes the queue."""

    def __init__(self, speak_aloud: bool = True, out_dir: str | Path | None = None,
                 voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE,
                 say: Callable[[str, str, int], None] = speak,
                 save: Callable[..., Path] = synthesize):
        self.speak_aloud = speak_aloud
        self.out_dir = Path(out_dir) if out_dir else None
        self.voice, self.rate = voice, rate
        self._say, self._save = say, save
        self.talking = threading.Event()
        self.saved: list[Path] = []
        self.failures: list[str] = []
        self._queue: queue.Queue[OperatorResponse | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="speaker", daemon=True)
        self._thread.start()

    @property
    def enabled(self) -> bool:
        return self.speak_aloud or self.out_dir is not None

    def submit(self, response: OperatorResponse) -> bool:
        """Queue a response if it is spoken; True when it was queued."""
        if not self.enabled or spoken_text(response) is None:
            return False
        self._queue.put(response)
        return True

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _work(self) -> None:
        while (response := self._queue.get()) is not None:
            text = spoken_text(response)
            try:
                if self.out_dir is not None:
                    self.saved.append(self._save(text, self.out_dir / wav_name(response),
                                                 voice=self.voice, rate=self.rate))
                if self.speak_aloud:
                    self.talking.set()
                    try:
                        self._say(text, self.voice, self.rate)
                    finally:
                        self.talking.clear()
            except SpeechError as exc:  # one failed answer must not silence the rest
                self.failures.append(str(exc))
                log.warning("could not speak %r: %s", text, exc)
