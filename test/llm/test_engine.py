"""The engine API: futures, streams, adapters at run time, errors; the engine's own thread."""
from __future__ import annotations

import threading
import time

import pytest
import torch

from llm_mars.errors import (AdapterLoadError, BackendError, ConstraintError, EngineClosedError,
                             GenerationTimeout, PromptTooLongError, RequestError,
                             UnknownAdapterError)
from llm_mars.llm.engine import Engine, OutputConstraint
from llm_mars.llm.llama import CompactLlama
from llm_mars.llm.requests import GenerationRequest, SamplingParams
from llm_mars.llm.scheduler import tokenize_request
from tiny_models import make_peft_adapter, peft_greedy


def chat(adapter, text, max_new_tokens=8, **kwargs):
    return GenerationRequest.chat(
        [{"role": "system", "content": f"You are the {adapter} robot helper."},
         {"role": "user", "content": text}], adapter, SamplingParams(max_new_tokens=max_new_tokens),
        **kwargs)


@pytest.fixture
def engine(tiny_llama, tiny_tokenizer, adapter_dirs):
    with Engine(CompactLlama.from_hf(tiny_llama, torch.float32), tiny_tokenizer,
                adapters=adapter_dirs, max_batch=4, max_seq_len=128, chunk_tokens=64) as engine:
        yield engine


def expected(peft_model, tokenizer, request):
    prompt, _ = tokenize_request(tokenizer, request)
    return peft_greedy(peft_model, request.adapter, prompt, request.sampling.max_new_tokens)


def test_futures_resolve_with_the_same_outputs_as_peft(engine, tiny_tokenizer, peft_model):
    requests = [chat("bt", "robot 1 go home"), chat("qa", "where is robot 2?", 5),
                chat(None, "hello", 6), chat("bt", "robot 2 collect cherries", 7)]
    futures = [engine.submit(r) for r in requests]
    for request, future in zip(requests, futures):
        result = future.result(timeout=60)
        assert list(result.token_ids) == expected(peft_model, tiny_tokenizer, request)
        assert result.text == tiny_tokenizer.decode(result.token_ids, skip_special_tokens=True)
        assert result.prompt_tokens > result.cached_prompt_tokens >= 0
        assert 0 <= result.queued_s <= result.first_token_s <= result.total_s


def test_work_runs_on_the_engine_thread(engine):
    seen = []
    engine.submit(chat("qa", "x", 2), on_token=lambda e: seen.append(threading.current_thread().name)
                  ).result(timeout=60)
    assert set(seen) == {"llm-engine"}


def test_unknown_adapter_lists_the_loaded_ones(engine):
    with pytest.raises(UnknownAdapterError) as err:
        engine.submit(chat("nav", "go"))
    assert err.value.loaded == ("bt", "qa")


def test_unknown_constraint_and_too_long_prompt(engine):
    with pytest.raises(RequestError):
        engine.submit(chat("bt", "go", constraint="yaml"))
    with pytest.raises(PromptTooLongError, match="context"):
        engine.submit(chat("bt", "go " * 200)).result(timeout=60)


def test_stream_yields_the_text_piece_by_piece(engine):
    stream = engine.stream(chat("bt", "robot 1 build cakes", 10))
    events = list(stream)
    result = stream.result()
    assert "".join(e.text for e in events) == result.text
    assert [t for e in events for t in e.token_ids] == list(result.token_ids)


def test_cancel_and_deadline(engine):
    slow = engine.submit(chat("bt", "long", 120))
    # the tiny model can make 120 tokens within 50 ms on a fast idle CPU (a fresh-clone run
    # on a Zen 5 did); 1 ms is far under what 120 steps take anywhere
    late = engine.submit(chat("qa", "late", 120, timeout_s=0.001))
    with pytest.raises(GenerationTimeout):
        late.result(timeout=60)
    assert slow.cancel() or slow.done()
    # the engine goes on serving
    assert engine.submit(chat("qa", "still there?", 3)).result(timeout=60).output_tokens == 3


def test_adapters_load_and_unload_at_run_time(engine, tiny_llama, tiny_tokenizer, tmp_path):
    engine.unload_adapter("qa")
    assert engine.adapters == ("bt",)
    with pytest.raises(UnknownAdapterError):
        engine.submit(chat("qa", "where?"))
    folder = make_peft_adapter(tiny_llama, tmp_path / "nav", seed=42, r=2, lora_alpha=4,
                               target_modules=["k_proj", "up_proj"])
    engine.load_adapter("nav", folder)
    assert engine.adapters == ("bt", "nav")
    request = chat("nav", "go to plate 3")
    from peft import PeftModel
    import copy

    reference = PeftModel.from_pretrained(copy.deepcopy(tiny_llama), folder, adapter_name="nav")
    assert list(engine.generate(request, timeout=60).token_ids) == expected(
        reference, tiny_tokenizer, request)
    with pytest.raises(AdapterLoadError):
        engine.load_adapter("broken", tmp_path / "missing")


def test_replacing_an_adapter_waits_for_its_running_requests(engine, tiny_llama, tmp_path,
                                                             tiny_tokenizer, peft_model):
    running = chat("bt", "robot 1 go home", 40)
    future = engine.submit(running)
    time.sleep(0.05)
    other = make_peft_adapter(tiny_llama, tmp_path / "bt2", seed=9, r=4, lora_alpha=8,
                              target_modules="all-linear")
    engine.load_adapter("bt", other, timeout=60)
    assert future.done()  # the swap happened only after it finished, with the old weights
    assert list(future.result().token_ids) == expected(peft_model, tiny_tokenizer, running)


def fail_first_forward(engine, monkeypatch) -> dict[str, int]:
    """The engine's next model step raises (a simulated kernel failure); later ones run. The
    count of model steps tried is in the returned ``["n"]``."""
    real_forward = engine.model.forward
    calls = {"n": 0}

    def flaky(step, cache, only_tokens=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated kernel failure")
        return real_forward(step, cache, only_tokens)

    monkeypatch.setattr(engine.model, "forward", flaky)
    return calls


def test_a_failing_step_fails_the_requests_in_flight_not_the_engine(engine, monkeypatch):
    fail_first_forward(engine, monkeypatch)
    with pytest.raises(BackendError) as err:
        engine.generate(chat("bt", "go"), timeout=60)
    assert isinstance(err.value.__cause__, RuntimeError)
    assert engine.generate(chat("bt", "go", 3), timeout=60).output_tokens == 3


def test_a_failing_step_still_answers_the_requests_it_had_finished(engine, monkeypatch):
    """A request the step finished before it failed (here: past its deadline) gets its own
    answer, not silence: its future would otherwise never resolve."""
    calls = fail_first_forward(engine, monkeypatch)
    with engine._cond:  # both arrive before the engine thread's next step
        late = engine.submit(GenerationRequest.chat(
            [{"role": "user", "content": "go"}], "bt", SamplingParams(max_new_tokens=3),
            timeout_s=0.0))
        running = engine.submit(chat("bt", "go"))
    with pytest.raises(GenerationTimeout):
        late.result(timeout=60)
    with pytest.raises(BackendError):
        running.result(timeout=60)
    assert calls["n"] >= 1


def test_a_failing_token_callback_fails_only_its_request(engine):
    def explode(event):
        raise ValueError("consumer bug")

    bad = engine.submit(chat("bt", "x", 5), on_token=explode)
    good = engine.submit(chat("qa", "y", 5))
    with pytest.raises(RequestError):
        bad.result(timeout=60)
    assert good.result(timeout=60).output_tokens == 5


def test_constraint_check_result_and_failure(tiny_llama, tiny_tokenizer):
    """The constraint factory's check parses the output; a check error fails the request."""
    from test_scheduler import ForcedTextConstraint

    target = tiny_tokenizer.encode("<ok/>")
    constraints = {
        "ok": lambda tok, vocab: OutputConstraint(lambda: ForcedTextConstraint(target, vocab),
                                                  check=lambda text: ("parsed", text)),
        "reject": lambda tok, vocab: OutputConstraint(lambda: ForcedTextConstraint(target, vocab),
                                                      check=_reject),
    }
    with Engine(CompactLlama.from_hf(tiny_llama, torch.float32), tiny_tokenizer,
                constraints=constraints, max_batch=2, max_seq_len=128) as engine:
        result = engine.generate(chat(None, "x", 20, constraint="ok"), timeout=60)
        assert result.parsed == ("parsed", "<ok/>") and result.finish_reason == "constraint"
        with pytest.raises(ConstraintError, match="rejected"):
            engine.generate(chat(None, "x", 20, constraint="reject"), timeout=60)


def _reject(text):
    raise ConstraintError(f"{text!r} rejected")


def test_close_fails_what_is_queued(tiny_llama, tiny_tokenizer):
    engine = Engine(CompactLlama.from_hf(tiny_llama, torch.float32), tiny_tokenizer,
                    max_batch=1, max_seq_len=256)
    futures = [engine.submit(chat(None, f"{i}", 200)) for i in range(3)]
    engine.close()
    for future in futures:
        with pytest.raises(EngineClosedError):
            future.result(timeout=10)
    with pytest.raises(EngineClosedError):
        engine.submit(chat(None, "after"))


@pytest.mark.slow
def test_bundled_model_plans_parse_and_validate():
    """Constrained bt rows and a free qa row in one batch on the real model (the default
    precision: int4 on the CPU); every plan returned parses and validates, jump-forward
    supplies most of the markup; and a plan alone multiplies by the LM head rows its grammar
    allows only (where that is exact on this CPU)."""
    from llm_mars.llm.weights import cpu_kernels
    from llm_mars.bt.model import Plan, Reply
    from llm_mars.bt.parser import parse_bt_output
    from llm_mars.llm.prompts import bt_messages, qa_messages

    commands = ["Robot 1, bring the brown cake from quadrant 2 to plate 3.",
                "Robot 2, fill the basket with cherries from holder 1.",
                "Both robots go home."]
    with Engine.load(max_batch=4, max_seq_len=1024) as engine:
        plans = [engine.submit(GenerationRequest.chat(
            bt_messages(c), None, SamplingParams(max_new_tokens=200), constraint="plan"))
            for c in commands]
        answer = engine.submit(GenerationRequest.chat(
            qa_messages("Where is robot 2?", "robot2 is at holder_4 carrying 6 cherries."), None,
            SamplingParams(max_new_tokens=20)))
        for future in plans:
            result = future.result(timeout=300)
            assert isinstance(result.parsed, (Plan, Reply))
            assert parse_bt_output(result.text) == result.parsed
            assert result.jump_forward_tokens > result.output_tokens / 2
        assert answer.result(timeout=300).output_tokens > 0
        narrowed = engine.stats["narrow_head_steps"]
        engine.generate(GenerationRequest.chat(bt_messages(commands[2]), None, SamplingParams(
            max_new_tokens=200), constraint="plan"), timeout=300)
        assert (engine.stats["narrow_head_steps"] > narrowed) == ("int8_rows" in cpu_kernels())


def test_unloading_fails_the_queued_requests_of_that_adapter(tiny_llama, tiny_tokenizer, adapter_dirs,
                                                            monkeypatch):
    with Engine(CompactLlama.from_hf(tiny_llama, torch.float32), tiny_tokenizer,
                adapters=adapter_dirs, max_batch=1, max_seq_len=256) as engine:
        forward = engine.model.forward
        monkeypatch.setattr(engine.model, "forward", lambda *a: (time.sleep(0.01), forward(*a))[1])
        running = engine.submit(chat("bt", "first", 100))  # >= 1 s: still running below
        queued = engine.submit(chat("qa", "second", 30))  # waits: one slot only
        engine.unload_adapter("qa", timeout=60)
        with pytest.raises(UnknownAdapterError):
            queued.result(timeout=60)
        assert running.result(timeout=60).output_tokens > 0


def test_a_scoring_request_returns_the_log_likelihood_peft_gives(engine, tiny_tokenizer,
                                                                 peft_model):
    """log P(target | messages) per adapter, in the same batch as generations, equals PEFT's
    log-softmax over the prompt, the target's tokens and the end-of-turn token."""
    from tiny_models import peft_logits

    messages = [{"role": "system", "content": "You are the bt robot helper."},
                {"role": "user", "content": "robot 1 go home"}]
    target = "robot one goes home now"
    generating = engine.submit(chat("qa", "where is robot 2?", 5))
    scores = {adapter: engine.submit(GenerationRequest.score(messages, target, adapter))
              for adapter in ("bt", "qa", None)}
    prompt, _ = tokenize_request(tiny_tokenizer, GenerationRequest.chat(messages, "bt"))
    full = prompt + tiny_tokenizer.encode(target, add_special_tokens=False) + [
        tiny_tokenizer.eos_token_id]
    for adapter, future in scores.items():
        result = future.result(timeout=60)
        logprobs = torch.log_softmax(peft_logits(peft_model, adapter, full)[:-1].double(), -1)
        want = sum(float(logprobs[p - 1, full[p]]) for p in range(len(prompt), len(full)))
        assert result.finish_reason == "scored" and result.output_tokens == 0
        assert result.scored_tokens == len(full) - len(prompt)
        assert result.score == pytest.approx(want, abs=1e-3)
    assert generating.result(timeout=60).output_tokens > 0
    assert scores["bt"].result().score != pytest.approx(scores["qa"].result().score, abs=1e-3)


def test_a_long_scoring_target_is_scored_across_chunks(tiny_llama, tiny_tokenizer, adapter_dirs):
    messages = [{"role": "user", "content": "robot 1 go home"}]
    target = " ".join(["robot one and robot two go to plate three"] * 8)
    scores = []
    for chunk in (16, 256):
        with Engine(CompactLlama.from_hf(tiny_llama, torch.float32), tiny_tokenizer,
                    adapters=adapter_dirs, max_batch=2, max_seq_len=256, chunk_tokens=chunk) as e:
            scores.append(e.generate(GenerationRequest.score(messages, target, "bt"), timeout=60))
    assert scores[0].scored_tokens == scores[1].scored_tokens > 16
    assert scores[0].score == pytest.approx(scores[1].score, abs=1e-3)


def test_a_scoring_request_takes_no_constraint(engine):
    request = GenerationRequest.score([{"role": "user", "content": "x"}], "y", "bt")
    with pytest.raises(RequestError, match="scoring"):
        engine.submit(GenerationRequest(request.messages, "bt", constraint="plan",
                                        score_target="y"))


def test_an_unexpected_error_preparing_a_request_fails_that_request_only(engine):
    """A chat template error (here: a message without content) ended the engine thread:
    every later request then waited for its deadline."""
    broken = GenerationRequest.chat([{"role": "user"}], "bt", SamplingParams(max_new_tokens=3))
    with pytest.raises(BackendError, match="content"):
        engine.submit(broken).result(timeout=30)
    assert engine.alive
    assert engine.submit(chat("bt", "go", 3)).result(timeout=30).output_tokens >= 1
    engine.close()
    assert not engine.alive


def test_a_slow_constraint_build_does_not_stall_other_requests(tiny_llama, tiny_tokenizer):
    """A new grounding per request means a grammar compile per request; on the engine thread
    it stalled every request in flight."""
    def slow(tokenizer, vocab_size, arg):
        time.sleep(3.0)
        return OutputConstraint(lambda: None)

    with Engine(CompactLlama.from_hf(tiny_llama, torch.float32), tiny_tokenizer,
                constraints={"slow": slow}, max_seq_len=128) as engine:
        engine.generate(chat(None, "warm up", 2), timeout=60)
        compiling = threading.Thread(
            target=lambda: engine.submit(chat(None, "go", 2, constraint="slow:1")), daemon=True)
        compiling.start()
        time.sleep(0.2)
        start = time.monotonic()
        engine.generate(chat(None, "go", 2), timeout=60)
        assert time.monotonic() - start < 2.0
        compiling.join(10)
