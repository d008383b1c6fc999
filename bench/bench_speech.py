"""Spoken commands through the offline recogniser: word error rate, intent and text agreement
with the typed command, and the time from end of speech to text.

The 64 texts of ``test/speech/spoken_commands.txt`` (44 commands, 14 questions, 6 stops) are
synthesised with six espeak-ng voices at 140/165/190 words per minute plus faint noise
(-55 dBFS), then streamed in 100 ms chunks through :class:`llm_mars.speech.listener.Listener`
(voice activity detection -> Whisper tiny.en int8 on the CPU -> normalisation), as the
``speech`` node does. The baseline, measured in the same run on the same audio, is the same
recogniser without the vocabulary prompt.

Reported per configuration:

* WER: word error rate after normalisation (both sides), over all 64 utterances;
* text ==: share whose normalised transcript equals the normalised typed text (the commander
  then sees exactly what a typist would have sent, so the plan is the typed text's plan);
* intent ==: share whose intent (stop/question/command, robots, queueing) equals the typed one;
* accepted: share sent on as an Utterance with confidence >= 0.5 (the commander's default);
* end of speech -> text: the detector's hangover plus recognition time (median, 95th pct);
* real-time factor: recognition time over audio time.

Then silence, noise and out-of-domain speech go through the same listener and the commander
core with an LLM stand-in that plans anything: the number of plans dispatched must be 0.

    .venv/bin/python bench/bench_speech.py [--cache DIR] [--no-baseline] [--threads N] [--beam N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from llm_mars.session.intent import classify
from llm_mars.speech.audio import SAMPLE_RATE, add_noise, read_wav
from llm_mars.speech.corpus import read_texts, synthesize_all
from llm_mars.speech.listener import Heard, Listener
from llm_mars.speech.normaliser import normalise_transcript
from llm_mars.speech.recogniser import Recogniser
from llm_mars.speech.wer import word_error_rate

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ROOT / "test" / "speech" / "spoken_commands.txt"
OUT_OF_DOMAIN = ROOT / "test" / "speech" / "out_of_domain.txt"
CHUNK = SAMPLE_RATE // 10
MIN_CONFIDENCE = 0.5


def stream(listener: Listener, samples: np.ndarray) -> list[Heard]:
    heard = []
    for start in range(0, samples.size, CHUNK):
        heard += listener.feed(samples[start:start + CHUNK])
    return heard + listener.flush()


def joined_text(heard: list[Heard]) -> str:
    return " ".join(h.transcript.text.rstrip("?") for h in heard).strip()


def run(recogniser: Recogniser, spoken) -> dict:
    listener = Listener(recogniser.transcribe)
    rows = []
    for item in spoken:
        samples = read_wav(item.path)
        heard = stream(listener, samples)
        rows.append((item, samples.size / SAMPLE_RATE, heard))
    pairs = [(item.text, joined_text(heard)) for item, _, heard in rows]
    latencies = [h.latency_s for _, _, heard in rows for h in heard]
    recognition = sum(h.transcript.elapsed_s for _, _, heard in rows for h in heard)
    audio = sum(seconds for _, seconds, _ in rows)
    same_text = sum(normalise_transcript(ref).rstrip("?") == hyp for ref, hyp in pairs)
    same_intent = sum(classify(ref) == classify(hyp) for ref, hyp in pairs)
    accepted = sum(len(heard) == 1 and heard[0].utterance is not None
                   and heard[0].utterance.confidence >= MIN_CONFIDENCE for _, _, heard in rows)
    return {
        "wer": word_error_rate(pairs),
        "same_text": same_text / len(rows),
        "same_intent": same_intent / len(rows),
        "accepted": accepted / len(rows),
        "split": sum(len(heard) != 1 for _, _, heard in rows),
        "latency_median": statistics.median(latencies),
        "latency_p95": float(np.percentile(latencies, 95)),
        "rtf": recognition / audio,
        "per_utterance_s": recognition / len(rows),
        "confidences": [h.transcript.confidence for _, _, heard in rows for h in heard],
        "misheard": [(ref, hyp) for ref, hyp in pairs
                     if normalise_transcript(ref).rstrip("?") != hyp],
    }


def plans_from_non_commands(recogniser: Recogniser, spoken) -> tuple[int, int]:
    """(plans dispatched, inputs): silence, noise and out-of-domain speech through the
    listener and the commander with an LLM stand-in that plans everything it is asked."""
    from llm_mars.payloads import LlmResult
    from llm_mars.session.commander import Commander, CommanderPorts

    plan_xml = '<root BTCPP_format="4"><BehaviorTree ID="robot1"><MoveTo target="home"/>' \
               '</BehaviorTree></root>'
    dispatched = []
    commander: Commander

    def request_llm(request) -> None:
        kind = "plan" if request.task == "plan" else "answer"
        commander.on_llm_result(LlmResult(request.id, kind, text="an answer",
                                          xml=plan_xml if kind == "plan" else None).to_json())

    commander = Commander(CommanderPorts(request_llm, lambda robot, d: dispatched.append(d),
                                         lambda robot, reason: None, lambda response: None))
    commander.on_world_state({"robots": {}})
    inputs = [read_wav(item.path) for item in spoken]
    inputs.append(np.zeros(3 * SAMPLE_RATE, dtype=np.float32))
    inputs.append(add_noise(np.zeros(3 * SAMPLE_RATE, dtype=np.float32), -55.0, 1))
    inputs.append(add_noise(np.zeros(3 * SAMPLE_RATE, dtype=np.float32), -20.0, 2))
    listener = Listener(recogniser.transcribe)
    for samples in inputs:
        for heard in stream(listener, samples):
            if heard.utterance is not None:
                commander.on_utterance(heard.utterance.to_json())
    return len(dispatched), len(inputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="folder for the synthesised audio (reused)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without prompt")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for Whisper")
    parser.add_argument("--beam", type=int, default=5, help="beam size")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_speech_") as tmp:
        folder = args.cache or Path(tmp)
        start = time.perf_counter()
        spoken = synthesize_all(read_texts(TEXTS), folder / "commands")
        odd = synthesize_all(read_texts(OUT_OF_DOMAIN), folder / "out_of_domain")
        print(f"synthesised {len(spoken)} + {len(odd)} utterances in "
              f"{time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        prompted = Recogniser(beam_size=args.beam, cpu_threads=args.threads)
        print(f"recogniser loaded in {time.perf_counter() - start:.1f} s")
        results = {"vocabulary prompt": run(prompted, spoken)}
        if not args.no_baseline:
            plain = Recogniser(beam_size=args.beam, cpu_threads=args.threads, prompt="")
            results["no prompt (baseline)"] = run(plain, spoken)
        plans, inputs = plans_from_non_commands(prompted, odd)

    print(f"\n{len(spoken)} utterances, {args.threads} threads, beam {args.beam}")
    print(f"{'configuration':<22}{'WER':>7}{'text ==':>9}{'intent ==':>11}{'accepted':>10}"
          f"{'split':>7}{'eos->text p50':>15}{'p95':>7}{'RTF':>7}{'s/utt':>7}")
    for name, r in results.items():
        print(f"{name:<22}{r['wer']:>7.1%}{r['same_text']:>9.1%}{r['same_intent']:>11.1%}"
              f"{r['accepted']:>10.1%}{r['split']:>7d}{r['latency_median']:>14.2f}s"
              f"{r['latency_p95']:>6.2f}s{r['rtf']:>7.2f}{r['per_utterance_s']:>7.2f}")
    if "no prompt (baseline)" in results:
        base, ours = results["no prompt (baseline)"], results["vocabulary prompt"]
        ratio = base["wer"] / ours["wer"] if ours["wer"] else float("inf")
        print(f"WER without prompt / with prompt: {ratio:.1f}x")
    confidences = results["vocabulary prompt"]["confidences"]
    print(f"confidence with prompt: min {min(confidences):.2f}, median "
          f"{statistics.median(confidences):.2f}")
    print(f"plans dispatched from {inputs} silence/noise/out-of-domain inputs: {plans}")
    for ref, hyp in results["vocabulary prompt"]["misheard"]:
        print(f"  said:  {ref}\n  heard: {hyp}")
    return 0 if plans == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
