"""Final responses are said (and saved) one at a time, off the caller's thread."""
import threading

import pytest

from llm_mars.errors import SynthesisError
from llm_mars.payloads import OperatorResponse
from llm_mars.speech.audio import read_wav
from llm_mars.speech.speaker import Speaker, spoken_text, wav_name


@pytest.mark.parametrize("response,said", [
    (OperatorResponse("a", "answer", "Robot 2 is at holder 4."), "Robot 2 is at holder 4."),
    (OperatorResponse("a", "reply", "There is no plate 7."), "There is no plate 7."),
    (OperatorResponse("a", "stopped", "Stopping both robots."), "Stopping both robots."),
    (OperatorResponse("a", "error", "I did not catch that, please say it again.",
                      code="low_confidence"), "I did not catch that, please say it again."),
    (OperatorResponse("a", "error", "The plan did not validate, nothing was sent:\nline 3: ...",
                      code="invalid_plan"), "The plan did not validate, nothing was sent:"),
    (OperatorResponse("a", "plan", "robot1\n└─ MoveTo home", robots=["robot1"],
                      mode="replace"), "Plan sent to robot one."),
    (OperatorResponse("a", "plan", "Queued after the current plan:\n...",
                      robots=["robot1", "robot2"], mode="queue"),
     "Plan queued for robot one and robot two."),
    (OperatorResponse("robot1-status", "progress", "robot1 failed", final=False), None),
    (OperatorResponse("a", "answer", "   "), None),
])
def test_spoken_text(response, said):
    assert spoken_text(response) == said


def test_wav_name_is_safe():
    assert wav_name(OperatorResponse("../x y", "answer", "hi")) == ".._x_y.wav"


def test_speaks_in_order_on_its_own_thread():
    said, threads = [], set()
    release = threading.Event()

    def say(text, voice, rate):
        release.wait(5)
        threads.add(threading.current_thread().name)
        said.append((text, voice, rate))

    speaker = Speaker(say=say, voice="en-gb", rate=150)
    assert speaker.submit(OperatorResponse("1", "answer", "first"))
    assert not speaker.submit(OperatorResponse("s", "progress", "moving", final=False))
    assert speaker.submit(OperatorResponse("2", "stopped", "second"))
    assert said == []  # the caller did not wait
    release.set()
    speaker.close()
    assert said == [("first", "en-gb", 150), ("second", "en-gb", 150)]
    assert threads == {"speaker"}


def test_a_failure_does_not_silence_the_rest():
    said = []

    def say(text, voice, rate):
        if text == "bad":
            raise SynthesisError("espeak-ng failed")
        said.append(text)

    speaker = Speaker(say=say)
    for text in ("bad", "good"):
        speaker.submit(OperatorResponse(text, "answer", text))
    speaker.close()
    assert said == ["good"]
    assert speaker.failures == ["espeak-ng failed"]


def test_talking_flag_is_set_while_speaking():
    seen = []
    speaker = Speaker(say=lambda text, voice, rate: seen.append(speaker.talking.is_set()))
    speaker.submit(OperatorResponse("1", "answer", "hello"))
    speaker.close()
    assert seen == [True]
    assert not speaker.talking.is_set()


def test_saves_wav_files_without_speaking(tmp_path):
    said = []
    speaker = Speaker(speak_aloud=False, out_dir=tmp_path, say=lambda *a: said.append(a))
    speaker.submit(OperatorResponse("u1", "answer", "Robot 1 carries 3 cherries."))
    speaker.close()
    assert said == []
    assert speaker.saved == [tmp_path / "u1.wav"]
    assert read_wav(tmp_path / "u1.wav").size > 8000


def test_disabled_speaker_takes_nothing():
    speaker = Speaker(speak_aloud=False, out_dir=None)
    assert not speaker.submit(OperatorResponse("1", "answer", "hello"))
    speaker.close()
