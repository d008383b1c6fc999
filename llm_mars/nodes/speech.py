"""``speech``: spoken commands in, spoken answers out, fully offline.

Audio comes from WAV files, a ROS topic and/or a microphone; each source is cut into
utterances by voice activity detection, recognised by Whisper tiny.en (faster-whisper, int8 on
the CPU, prompted with the command vocabulary) and normalised (llm_mars.speech.listener). A
recognised utterance goes to the commander with its confidence (the commander rejects it
below its ``min_confidence``); an utterance with no text, or a command that names nothing of
the robots' world, is answered at once with "I did not catch that" (code low_confidence).
Final responses are said with espeak-ng and/or saved as WAV files.

Parameters (launch/config/speech.yaml):
  wav_input (string, "")          a WAV file, or a folder of *.wav (name order), heard at start
  wav_start_delay_s (float, 2.0)  wait before hearing wav_input (lets the graph connect)
  audio_topic (string, "speech/audio")  raw audio topic ("" for none), see below
  microphone (bool, false)        listen on a microphone (needs the sounddevice package; without
                                  it, or without an input device, a warning and no microphone)
  microphone_device (string, "")  sounddevice input device name or index ("" for the default)
  model_path (string, "")         CTranslate2 Whisper model folder ("" for the bundled tiny.en)
  beam_size (int, 5)              Whisper beam size
  cpu_threads (int, 2)            CPU threads for Whisper
  vad_threshold_db (float, 12.0)  voice is this far above the noise floor
  vad_hangover_ms (int, 500)      an utterance ends after this much silence
  max_utterance_s (float, 20.0)   a longer utterance is cut here
  speak (bool, true)              say final responses aloud (espeak-ng)
  answers_dir (string, "")        also save each spoken response as <id>.wav here ("" for none)
  voice (string, "en-us")         espeak-ng voice for answers
  speech_rate (int, 160)          espeak-ng words per minute

Subscribes: <audio_topic> (std_msgs/Int16MultiArray: 16 kHz mono signed 16-bit PCM samples in
  ``data``, chunks of any length, published in order; layout is ignored),
  operator/response (OperatorResponse JSON: final responses are spoken)
Publishes: operator/command (Utterance JSON, source "speech", with confidence),
  operator/response (OperatorResponse error, code low_confidence, for audio not understood)
"""
from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
from rclpy.node import Node
from std_msgs.msg import Int16MultiArray

from llm_mars.errors import SpeechError
from llm_mars.nodes.common import (RELIABLE, ParamSpec, declare_all, payload_subscription,
                                   run_node, string_publisher)
from llm_mars.payloads import OperatorResponse
from llm_mars.speech.audio import SAMPLE_RATE, pcm16_to_float, read_wav
from llm_mars.speech.listener import Heard, Listener
from llm_mars.speech.recogniser import Recogniser
from llm_mars.speech.speaker import Speaker
from llm_mars.speech.vad import VadConfig

PARAMETERS = (
    ParamSpec("wav_input", "", "a WAV file or a folder of WAV files heard at start ('' for none)"),
    ParamSpec("wav_start_delay_s", 2.0, "wait this long before hearing wav_input", (0.0, 3600.0)),
    ParamSpec("audio_topic", "speech/audio",
              "std_msgs/Int16MultiArray topic of 16 kHz mono PCM ('' for none)"),
    ParamSpec("microphone", False, "listen on a microphone (needs the sounddevice package)"),
    ParamSpec("microphone_device", "", "sounddevice input device name or index ('' default)"),
    ParamSpec("model_path", "", "CTranslate2 Whisper model folder ('' for bundled tiny.en)"),
    ParamSpec("beam_size", 5, "Whisper beam size", (1, 16)),
    ParamSpec("cpu_threads", 2, "CPU threads for Whisper", (1, 256)),
    ParamSpec("vad_threshold_db", 12.0, "voice is this many dB above the noise floor",
              (0.0, 60.0)),
    ParamSpec("vad_hangover_ms", 500, "an utterance ends after this much silence", (10, 10000)),
    ParamSpec("max_utterance_s", 20.0, "a longer utterance is cut here", (1.0, 600.0)),
    ParamSpec("speak", True, "say final responses aloud with espeak-ng"),
    ParamSpec("answers_dir", "", "also save each spoken response as <id>.wav here ('' for none)"),
    ParamSpec("voice", "en-us", "espeak-ng voice for answers"),
    ParamSpec("speech_rate", 160, "espeak-ng speaking rate in words per minute", (80, 450)),
)

_END = object()  # marks the end of a source's stream on the work queue


def wav_inputs(path: str) -> list[Path]:
    """The WAV files named by ``wav_input``: the file itself, or a folder's *.wav by name."""
    if not path:
        return []
    target = Path(path).expanduser()
    return sorted(target.glob("*.wav")) if target.is_dir() else [target]


class SpeechNode(Node):
    def __init__(self, recogniser: Recogniser | None = None, **kwargs):
        super().__init__("speech", **kwargs)
        p = declare_all(self, PARAMETERS)
        self.recogniser = recogniser or Recogniser(p.model_path or None, p.beam_size,
                                                   p.cpu_threads)
        self.get_logger().info(f"Whisper model: {self.recogniser.model_path}")
        self.vad = VadConfig(threshold_db=p.vad_threshold_db, hangover_ms=p.vad_hangover_ms,
                             max_utterance_s=p.max_utterance_s)
        self.speaker = Speaker(p.speak, p.answers_dir or None, p.voice, p.speech_rate)
        self._command = string_publisher(self, "operator/command")
        self._respond = string_publisher(self, "operator/response")
        payload_subscription(self, "operator/response", OperatorResponse, self.speaker.submit)
        if p.audio_topic:
            self.create_subscription(Int16MultiArray, p.audio_topic, self._on_audio, RELIABLE)
        self._work: queue.Queue = queue.Queue()
        self._listeners: dict[str, Listener] = {}
        self._closing = threading.Event()
        self._worker = threading.Thread(target=self._run, name="speech-recogniser", daemon=True)
        self._worker.start()
        self._wav_thread = None
        files = wav_inputs(p.wav_input)
        if files:
            self._wav_thread = threading.Thread(target=self._hear_files,
                                                args=(files, p.wav_start_delay_s), daemon=True)
            self._wav_thread.start()
        self._microphone = self._open_microphone(p.microphone_device) if p.microphone else None

    # --- audio sources -----------------------------------------------------------------------

    def _on_audio(self, msg: Int16MultiArray) -> None:
        self._work.put(("topic", pcm16_to_float(np.asarray(msg.data, dtype=np.int16))))

    def _hear_files(self, files: list[Path], delay_s: float) -> None:
        if self._closing.wait(delay_s):
            return
        for path in files:
            try:
                samples = read_wav(path)
            except SpeechError as exc:
                self.get_logger().error(f"wav_input: {exc}")
                continue
            self.get_logger().info(f"hearing {path}")
            self._work.put((f"file:{path}", samples))
            self._work.put((f"file:{path}", _END))

    def _open_microphone(self, device: str):
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: PortAudio itself is missing
            self.get_logger().warning(f"no microphone: the sounddevice package is unavailable "
                                      f"({exc}); install it to listen on a microphone")
            return None

        def on_block(block, frames, time_info, status) -> None:
            if not self.speaker.talking.is_set():  # do not hear our own answers
                self._work.put(("microphone", pcm16_to_float(block[:, 0].copy())))

        try:
            stream = sounddevice.InputStream(
                samplerate=SAMPLE_RATE, channels=1, dtype="int16", blocksize=SAMPLE_RATE // 10,
                device=int(device) if device.isdigit() else (device or None), callback=on_block)
            stream.start()
        except Exception as exc:  # PortAudioError, ValueError: no such device, no input at all
            self.get_logger().warning(f"no microphone: {exc}")
            return None
        self.get_logger().info("listening on the microphone")
        return stream

    # --- recognition -------------------------------------------------------------------------

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            source, samples = item
            listener = self._listeners.get(source)
            if listener is None:
                listener = self._listeners[source] = Listener(
                    self.recogniser.transcribe, self._publish, self.vad)
            try:
                if samples is _END:
                    listener.flush()
                    del self._listeners[source]
                else:
                    listener.feed(samples)
            except Exception as exc:  # a failed recognition must not end the node's hearing
                self.get_logger().error(f"{source}: recognition failed: {exc!r}")

    def _publish(self, heard: Heard) -> None:
        t = heard.transcript
        self.get_logger().info(f"heard {t.raw_text!r} -> {t.text!r} (confidence "
                               f"{t.confidence:.2f}, {t.elapsed_s:.2f} s)")
        if heard.utterance is not None:
            self._command(heard.utterance.to_json())
        else:
            self._respond(heard.rejection.to_json())

    # --- answers -----------------------------------------------------------------------------

    def close(self) -> None:
        self._closing.set()
        if self._microphone is not None:
            self._microphone.stop()
            self._microphone.close()
        if self._wav_thread is not None:
            self._wav_thread.join(timeout=5)
        self._work.put(None)
        self._worker.join(timeout=30)
        self.speaker.close()


def main(args: list[str] | None = None) -> None:
    run_node(SpeechNode, args)


if __name__ == "__main__":
    main()
