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
* text ==: share whose transcript equals the typed text, both normalised (every word heard
  right; the plan then equals the plan of the normalised typed text);
* intent ==: share whose intent (stop/question/command, robots, queueing) equals the typed one;
* accepted: share sent on as an Utterance with confidence >= 0.5 (the commander's default);
* end of speech -> text: the detector's hangover plus recognition time (median, 95th pct);
* real-time factor: recognition time over audio time.

With ``--plans``, each of the 44 commands is also planned by the assistant (bundled model and
adapters, in process) twice: from the typed text as written and from what was heard. Reported:
the share with the same plan (equal validated plans; a reply does not count), the share with
the same outcome (the same plan or the same reply), and end of speech -> plan, the time to
text plus the planning time (the commander's own work is negligible next to them).

That silence, noise and out-of-domain speech never become a plan is a test
(test/speech/test_no_plans.py), not a figure.

    .venv/bin/python bench/bench_speech.py [--cache DIR] [--no-baseline] [--plans]
                                           [--threads N] [--beam N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from llm_mars.language.intent import classify
from llm_mars.language.normaliser import normalise
from llm_mars.speech.audio import SAMPLE_RATE, read_wav
from llm_mars.speech.corpus import read_texts, synthesize_all
from llm_mars.speech.listener import Heard, Listener
from llm_mars.speech.recogniser import Recogniser
from llm_mars.speech.wer import word_error_rate

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ROOT / "test" / "speech" / "spoken_commands.txt"
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
    same_text = sum(normalise(ref).rstrip("?") == hyp for ref, hyp in pairs)
    same_intent = sum(classify(ref) == classify(hyp) for ref, hyp in pairs)
    accepted = sum(len(heard) == 1 and heard[0].utterance is not None
                   and heard[0].utterance.confidence >= MIN_CONFIDENCE for _, _, heard in rows)
    by_voice = {voice: word_error_rate(p for p, (item, _, _) in zip(pairs, rows)
                                       if item.voice == voice)
                for voice in dict.fromkeys(item.voice for item in spoken)}
    by_rate = {rate: word_error_rate(p for p, (item, _, _) in zip(pairs, rows) if item.rate == rate)
               for rate in sorted({item.rate for item in spoken})}
    return {
        "rows": rows,
        "wer": word_error_rate(pairs),
        "by_voice": by_voice,
        "by_rate": by_rate,
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
                     if normalise(ref).rstrip("?") != hyp],
    }


def compare_plans(rows) -> dict:
    """Plans from the typed and the heard text of every command, with the bundled assistant."""
    from llm_mars.assistant import Assistant
    from llm_mars.bt.model import Plan
    from llm_mars.errors import LlmMarsError
    from llm_mars.language.intent import Intent

    def plan(assistant, text):
        try:
            return assistant.plan(text)
        except LlmMarsError:
            return None

    assistant = Assistant.load()
    same_plan = same_outcome = typed_plans = 0
    to_plan = []
    commands = [(item, heard) for item, _, heard in rows
                if classify(item.text).intent is Intent.COMMAND]
    try:
        for item, heard in commands:
            typed = plan(assistant, item.text)
            spoken = plan(assistant, joined_text(heard)) if joined_text(heard) else None
            typed_plans += typed is not None and isinstance(typed.result, Plan)
            if typed is not None and spoken is not None:
                same_outcome += typed.result == spoken.result
                same_plan += isinstance(typed.result, Plan) and typed.result == spoken.result
            if spoken is not None and heard:
                to_plan.append(heard[-1].latency_s + spoken.latency_s)
    finally:
        assistant.close()
    return {"commands": len(commands), "same_plan": same_plan / len(commands),
            "same_outcome": same_outcome / len(commands),
            "plan_median": statistics.median(to_plan),
            "plan_p95": float(np.percentile(to_plan, 95)),
            "typed_plans": typed_plans}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="folder for the synthesised audio (reused)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without prompt")
    parser.add_argument("--plans", action="store_true",
                        help="also compare the assistant's plans for typed and heard commands")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for Whisper")
    parser.add_argument("--beam", type=int, default=5, help="beam size")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_speech_") as tmp:
        folder = args.cache or Path(tmp)
        start = time.perf_counter()
        spoken = synthesize_all(read_texts(TEXTS), folder / "commands")
        print(f"synthesised {len(spoken)} utterances in "
              f"{time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        prompted = Recogniser(beam_size=args.beam, cpu_threads=args.threads)
        print(f"recogniser loaded in {time.perf_counter() - start:.1f} s")
        results = {"vocabulary prompt": run(prompted, spoken)}
        if not args.no_baseline:
            plain = Recogniser(beam_size=args.beam, cpu_threads=args.threads, prompt="")
            results["no prompt (baseline)"] = run(plain, spoken)
        plans = compare_plans(results["vocabulary prompt"]["rows"]) if args.plans else None

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
    for name, r in results.items():
        print(f"WER by voice ({name}): "
              + ", ".join(f"{v} {w:.1%}" for v, w in r["by_voice"].items()))
        print(f"WER by rate ({name}): "
              + ", ".join(f"{v} wpm {w:.1%}" for v, w in r["by_rate"].items()))
    confidences = results["vocabulary prompt"]["confidences"]
    print(f"confidence with prompt: min {min(confidences):.2f}, median "
          f"{statistics.median(confidences):.2f}")
    if plans is not None:
        print(f"plans ({plans['commands']} commands, {plans['typed_plans']} planned from the "
              f"typed text; bundled model and adapters): same plan "
              f"{plans['same_plan']:.1%}, same outcome {plans['same_outcome']:.1%}; end of "
              f"speech -> plan p50 {plans['plan_median']:.2f} s, p95 {plans['plan_p95']:.2f} s")
    for ref, hyp in results["vocabulary prompt"]["misheard"]:
        print(f"  said:  {ref}\n  heard: {hyp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
