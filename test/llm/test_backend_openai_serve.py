"""The ``openai`` backend against ``llm-mars serve`` in another process, over loopback, with
the bundled model and two random LoRA adapters, compared with the in-process ``hf`` backend.

One server process serves the whole module (it is started again only if a test killed it);
both sides compute in float32 so that greedy outputs can be compared token for token.
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llm_mars.assistant import Assistant
from llm_mars.bt.model import Plan, Reply
from llm_mars.errors import BackendError
from llm_mars.llm.backends import BackendConfig, make_backend
from llm_mars.llm.requests import GenerationRequest, GenerationResult, SamplingParams

pytestmark = pytest.mark.slow

API_KEY = "test-key"
COMMAND = "Robot 1, take the pink cake from quadrant 2 to plate 3; robot 2, go home."
START_TIMEOUT_S = 240.0
ADAPTERS = {  # name: (seed, rank, alpha, target modules)
    "bt": (1, 8, 16, ["q_proj", "k_proj", "v_proj", "o_proj"]),
    "qa": (2, 4, 8, ["q_proj", "v_proj", "down_proj"]),
}


def make_adapters(root: Path, scale: float = 0.05) -> dict[str, Path]:
    """Random PEFT LoRA adapters for the bundled model (A as PEFT initialises it, B ~ N(0,
    scale): enough to change greedy outputs, small enough to keep the model fluent)."""
    import torch
    from peft import LoraConfig
    from safetensors.torch import save_file

    from llm_mars.llm.model_store import resolve_model_dir

    model = resolve_model_dir(None)
    config = json.loads((model / "config.json").read_text())
    hidden, inner = config["hidden_size"], config["intermediate_size"]
    head = config.get("head_dim") or hidden // config["num_attention_heads"]
    q, kv = config["num_attention_heads"] * head, config["num_key_value_heads"] * head
    shapes = {"q_proj": ("self_attn", q, hidden), "k_proj": ("self_attn", kv, hidden),
              "v_proj": ("self_attn", kv, hidden), "o_proj": ("self_attn", hidden, q),
              "down_proj": ("mlp", hidden, inner)}
    folders = {}
    for name, (seed, rank, alpha, targets) in ADAPTERS.items():
        generator = torch.Generator().manual_seed(seed)
        tensors = {}
        for layer in range(config["num_hidden_layers"]):
            for target in targets:
                block, out_features, in_features = shapes[target]
                key = f"base_model.model.model.layers.{layer}.{block}.{target}"
                tensors[f"{key}.lora_A.weight"] = (
                    torch.rand(rank, in_features, generator=generator) * 2 - 1) / in_features ** 0.5
                tensors[f"{key}.lora_B.weight"] = torch.randn(
                    out_features, rank, generator=generator) * scale
        folder = root / name
        LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets,
                   base_model_name_or_path=str(model)).save_pretrained(folder)
        save_file(tensors, str(folder / "adapter_model.safetensors"))
        folders[name] = folder
    return folders


class ServeProcess:
    """``llm-mars serve`` (as ``python -m llm_mars.cli.serve``) on a free port."""

    def __init__(self, adapters_root: Path, log: Path):
        self.adapters_root, self.log = adapters_root, log
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def launch(self) -> None:
        """Start the process (it loads the model in the background); ``ensure_running`` waits."""
        env = {**os.environ, "LLM_MARS_API_KEY": API_KEY}
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "llm_mars.cli.serve", "--port", "0",
                 "--adapters", str(self.adapters_root), "--dtype", "float32"],
                stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self.url = ""

    def ensure_running(self) -> str:
        """The server's URL once it answers /v1/models (started again if it died)."""
        if self.proc is None or self.proc.poll() is not None:
            self.launch()
        if not self.url:
            self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        line = self._first_line()
        self.url = line.split("listening on ", 1)[1].split()[0]
        request = urllib.request.Request(f"{self.url}/v1/models",
                                         headers={"Authorization": f"Bearer {API_KEY}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            models = [m["id"] for m in json.load(answer)["data"]]
        assert models == ["SmolLM2-135M-Instruct", "bt", "qa"], models

    def _first_line(self) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        if not selector.select(START_TIMEOUT_S) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"llm-mars serve did not start:\n{self.log.read_text()[-3000:]}")
        return self.proc.stdout.readline()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    return make_adapters(tmp_path_factory.mktemp("adapters"))


@pytest.fixture(scope="module")
def serve(adapters, tmp_path_factory):
    process = ServeProcess(adapters["bt"].parent, tmp_path_factory.mktemp("serve") / "log")
    process.launch()  # it loads the model while this process loads its own
    yield process
    process.stop()


@pytest.fixture(scope="module")
def local(adapters, serve):
    engine = make_backend(BackendConfig(kind="hf", dtype="float32", adapter_dirs=adapters))
    yield engine
    engine.close()


@pytest.fixture
def remote(serve):
    backend = make_backend(BackendConfig(kind="openai", url=serve.ensure_running(),
                                         api_key=API_KEY, options={"backoff_s": 0.1}))
    yield backend
    backend.close()


def question(text: str, adapter: str | None, tokens: int = 24) -> GenerationRequest:
    return GenerationRequest.chat([{"role": "user", "content": text}], adapter,
                                  SamplingParams(max_new_tokens=tokens), timeout_s=240)


def one_by_one(backend, requests: list[GenerationRequest]) -> list[GenerationResult]:
    return [backend.submit(r).result(240) for r in requests]


def test_both_adapters_answer_as_the_in_process_engine(local, remote):
    requests = [question("Where is robot 2?", a) for a in ("bt", "qa", None)]
    with ThreadPoolExecutor(1) as other:  # both sides compute at the same time
        there = other.submit(one_by_one, remote, requests)
        here = one_by_one(local, requests)
        there = there.result()
    assert [r.text for r in there] == [r.text for r in here]
    assert [r.token_ids for r in there] == [r.token_ids for r in here]
    assert len({r.text for r in here}) == 3  # each adapter (and the base model) answers its way
    assert all(r.prompt_tokens == h.prompt_tokens for r, h in zip(there, here))


def test_streaming_gives_the_same_answer(local, remote):
    request = question("Robot 1, what do you carry?", "qa")
    tokens = []
    streamed = remote.submit(request, on_token=tokens.append)
    whole, streamed = local.submit(request).result(240), streamed.result(240)
    assert "".join(t.text for t in tokens) == streamed.text == whole.text
    assert len(tokens) > 3


def test_concurrent_requests_of_both_adapters(local, remote):
    requests = [question(text, adapter, 16) for text in ("Say hello.", "Count to three.")
                for adapter in ("bt", "qa")]
    futures = [remote.submit(r) for r in requests]  # all in flight together
    alone = one_by_one(local, requests)
    assert [f.result(240).text for f in futures] == [r.text for r in alone]


def test_a_plan_through_the_server_equals_the_in_process_plan(local, remote):
    """Acceptance: the same command, greedy, gives the same validated plan either way."""
    there = Assistant(remote, timeout_s=240).plan_async(COMMAND)
    here = Assistant(local, timeout_s=240).plan_async(COMMAND)
    remote_outcome, local_outcome = there.result(300), here.result(300)
    assert isinstance(local_outcome.result, (Plan, Reply))
    assert remote_outcome.text == local_outcome.text
    assert remote_outcome.result == local_outcome.result


def _http(url: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_a_seed_the_generator_cannot_take_is_refused_and_the_engine_serves_on(serve):
    """Issue 17: this request killed the engine thread of ``llm-mars serve``."""
    url = serve.ensure_running()
    chat = {"model": "bt", "messages": [{"role": "user", "content": "go home"}],
            "temperature": 1, "max_tokens": 4}
    status, answer = _http(f"{url}/v1/chat/completions", {**chat, "seed": 2**64})
    assert (status, answer["error"]["param"]) == (400, "seed")
    status, answer = _http(f"{url}/v1/chat/completions", {**chat, "seed": 7})
    assert status == 200 and answer["usage"]["completion_tokens"] >= 1
    assert _http(f"{url}/health") == (200, {"status": "ok"})


def test_a_server_killed_mid_request_is_a_clear_error_without_a_hang(serve, remote):
    tokens = []
    streaming = remote.submit(question("Tell me a long story about robots.", "bt", 400),
                              on_token=tokens.append)
    waiting = remote.submit(question("Tell me another long story.", "qa", 400))
    deadline = time.monotonic() + 120
    while not tokens and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tokens, "no token arrived"
    serve.kill()
    killed = time.monotonic()
    for future in (streaming, waiting):
        with pytest.raises(BackendError):
            future.result(30)
    assert time.monotonic() - killed < 10
