"""``llm_server``: hosts the LLM (base model + bt, qa and describe adapters) for any number of
callers.

Requests from every caller are batched together by the engine (both adapters, both robots, one
forward pass per step). The model loads in the background after start-up; requests that arrive
meanwhile wait for it (their callers have their own timeouts).

Parameters (launch/config/llm_server.yaml):
  backend (str, "")        hf | openai | vllm; "" = $LLM_MARS_BACKEND, else hf (in-process)
  openai_url (str, "")     the remote server for the openai backend; "" = $LLM_MARS_OPENAI_URL
                           (the API key is read from $LLM_MARS_API_KEY only)
  model (str, "")          Hugging Face model folder; "" = the bundled SmolLM2-135M-Instruct
  adapters_dir (str, "")   folder with bt/, qa/ (and describe/) PEFT adapters; "" = the
                           shipped ones
  dtype (str, "")          int4 | bfloat16 | float32 | float16; "" = int4 on the CPU, bfloat16 on a GPU
  max_batch (int, 16)      most requests decoded together (hf backend)
  request_timeout_s (float, 60.0)  a request unfinished this long fails (code llm_timeout)
  grounding (bool, true)   world check and grammar narrowed to what each command mentions
  plan_alternatives (int, 3)  plans sampled when the plan so far leaves out a mention
  plan_chooser (str, "")   mentions | describe; "" = describe when its adapter is there

Subscribes: llm/request (String, LlmRequest JSON)
Publishes:  llm/result (String, LlmResult JSON): exactly one per well-formed request; a
  malformed request with a readable id gets an error result, others are logged. A caller that
  heard nothing sends the same request again (the commander does, as topics keep nothing for
  a server that has not matched it yet): while it runs, the copy is dropped; once answered, the
  copy gets the same result again (the last 256 results are kept), never a second run.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from concurrent.futures import Future

from rclpy.node import Node

from llm_mars.assistant import CHOOSERS, Assistant
from llm_mars.bt.model import Reply
from llm_mars.bt.serializer import serialize_plan
from llm_mars.errors import (ConstraintError, GenerationTimeout, LlmMarsError, ParameterError,
                             PayloadError, UnknownAdapterError)
from llm_mars.llm.backends import BackendConfig
from llm_mars.nodes.common import (ParamSpec, declare_all, payload_subscription, run_node,
                                   string_publisher)
from llm_mars.payloads import LlmRequest, LlmResult, peek_field

PARAMETERS = (
    ParamSpec("backend", "", "hf (in-process) | openai (remote server) | vllm (GPU); "
                             "empty: $LLM_MARS_BACKEND, else hf"),
    ParamSpec("openai_url", "", "OpenAI-compatible server URL for the openai backend; "
                                "empty: $LLM_MARS_OPENAI_URL (API key: $LLM_MARS_API_KEY)"),
    ParamSpec("model", "", "Hugging Face model folder; empty: the bundled model"),
    ParamSpec("adapters_dir", "", "folder with bt/, qa/ (and describe/) adapters; empty: the "
                              "shipped ones"),
    ParamSpec("dtype", "", "int4 | bfloat16 | float32 | float16; empty: int4 on the CPU, "
                           "bfloat16 on a GPU"),
    ParamSpec("max_batch", 16, "most requests decoded together", (1, 256)),
    ParamSpec("request_timeout_s", 60.0, "a request unfinished this long fails", (0.1, 3600.0),
              runtime=True),
    ParamSpec("grounding", True, "check commands against the world and narrow the plan grammar "
              "to what each command mentions (llm_mars.language.grounding); false: the bt "
              "adapter alone"),
    ParamSpec("plan_alternatives", 3, "plans sampled when the greedy plan leaves out something "
              "the command mentions (llm_mars.language.mentions); 0: always the greedy plan",
              (0, 16)),
    ParamSpec("plan_chooser", "", "what keeps one of several candidate plans: mentions | "
              "describe (the describe adapter's noisy-channel score); empty: describe when "
              "that adapter is there, else mentions"),
)

_ERROR_CODES = ((GenerationTimeout, "llm_timeout"), (ConstraintError, "constraint_failed"),
                (UnknownAdapterError, "unknown_adapter"), (LlmMarsError, "llm_error"))


ANSWERS_KEPT = 256
"""Results kept for requests sent again after they were answered."""


def request_key(request: LlmRequest) -> str:
    """What makes two requests the same request: every field, not the id alone (callers may
    reuse ids)."""
    return hashlib.sha256(json.dumps(json.loads(request.to_json()), sort_keys=True)
                          .encode()).hexdigest()


def error_code(exc: BaseException) -> str:
    for kind, code in _ERROR_CODES:
        if isinstance(exc, kind):
            return code
    return "internal"


class LlmServerNode(Node):
    def __init__(self, assistant=None, **kwargs):
        """``assistant`` may be given (tests); otherwise it is loaded from the parameters."""
        super().__init__("llm_server", **kwargs)
        self.params = declare_all(self, PARAMETERS, self._on_parameter)
        self._publish = string_publisher(self, "llm/result")
        self._ready = threading.Event()
        self._waiting: list[LlmRequest] = []
        self._lock = threading.Lock()
        self._running: set[str] = set()  # request_key of each request being served
        self._answered: OrderedDict[str, LlmResult] = OrderedDict()
        self.assistant = assistant
        self.load_error: BaseException | None = None
        payload_subscription(self, "llm/request", LlmRequest, self._on_request,
                             on_bad=self._refuse)
        if assistant is not None:
            self._ready.set()
            return
        p = self.params  # adapter folders are checked now: a missing one ends the start-up
        if p.plan_chooser not in ("", *CHOOSERS):
            raise ParameterError("plan_chooser", f"must be empty or one of {CHOOSERS}, not "
                                                 f"{p.plan_chooser!r}")
        config = Assistant.backend_config(p.model or None, p.adapters_dir or None,
                                          p.dtype or None, p.backend or None,
                                          p.openai_url or None)
        self.get_logger().info("adapters: " + ", ".join(
            f"{name} from {folder}" for name, folder in config.adapter_dirs.items()))
        threading.Thread(target=self._load, args=(config,), name="llm-load", daemon=True).start()

    def _on_parameter(self, name: str, value: float) -> None:
        if self.assistant is not None:  # request_timeout_s; a later load reads self.params
            self.assistant.timeout_s = value

    def _load(self, config: BackendConfig) -> None:
        p = self.params
        try:
            assistant = Assistant.from_backend(config, grounding=p.grounding,
                                               alternatives=p.plan_alternatives,
                                               chooser=p.plan_chooser or None,
                                               max_batch=p.max_batch)
            assistant.timeout_s = p.request_timeout_s
        except LlmMarsError as exc:
            self.get_logger().error(f"cannot load the model: {exc}")
            self.load_error = exc
        else:
            self.get_logger().info(f"model ready; adapters: {', '.join(assistant.engine.adapters)}"
                                   f"; plans chosen by {assistant.chooser}")
            self.assistant = assistant
        with self._lock:
            self._ready.set()
            waiting, self._waiting = self._waiting, []
        for request in waiting:
            self._serve(request)

    def _refuse(self, data: str, exc: PayloadError) -> None:
        """A request that does not decode gets an error result, if its id can be read."""
        request_id = peek_field(data, "id", str)
        if request_id is not None:
            self._reply(None, LlmResult(request_id, "error", str(exc), code="bad_request"))

    def _on_request(self, request: LlmRequest) -> None:
        key = request_key(request)
        with self._lock:
            if key in self._running:
                return  # sent again while it runs: its one result is coming
            answered = self._answered.get(key)
            if answered is None:
                self._running.add(key)
                if not self._ready.is_set():
                    self._waiting.append(request)
                    return
        if answered is not None:
            self._publish(answered.to_json())  # the first one did not reach the caller
            return
        self._serve(request)

    def _serve(self, request: LlmRequest) -> None:
        if self.assistant is None:
            self._reply(request, LlmResult(request.id, "error", f"the model is not loaded: "
                                           f"{self.load_error}", code="model_unavailable"))
            return
        try:
            if request.task == "plan":
                future = self.assistant.plan_async(request.text)
            else:
                future = self.assistant.answer_async(request.text, request.state,
                                                     request.previous)
        except Exception as exc:  # noqa: BLE001 - every request gets its one answer
            if not isinstance(exc, LlmMarsError):
                self.get_logger().error(f"request {request.id} failed: {exc!r}")
            self._reply(request, LlmResult(request.id, "error", str(exc), code=error_code(exc)))
            return
        future.add_done_callback(lambda f: self._finish(request, f))

    def _finish(self, request: LlmRequest, future: Future) -> None:
        error = future.exception()
        if error is not None:
            self._reply(request, LlmResult(request.id, "error", str(error),
                                           code=error_code(error)))
            return
        outcome = future.result()
        if request.task == "answer":
            result = LlmResult(request.id, "answer", outcome.text, latency_s=outcome.latency_s,
                               query=outcome.query)
        elif isinstance(outcome.result, Reply):
            result = LlmResult(request.id, "reply", outcome.result.text,
                               latency_s=outcome.latency_s)
        else:
            result = LlmResult(request.id, "plan", xml=serialize_plan(outcome.result),
                               latency_s=outcome.latency_s)
        self._reply(request, result)

    def _reply(self, request: LlmRequest | None, result: LlmResult) -> None:
        """Publish ``result``; for a well-formed ``request``, keep it for a copy sent again."""
        if request is not None:
            key = request_key(request)
            with self._lock:
                self._running.discard(key)
                self._answered[key] = result
                while len(self._answered) > ANSWERS_KEPT:
                    self._answered.popitem(last=False)
        self._publish(result.to_json())

    def close(self) -> None:
        if self.assistant is not None:
            self.assistant.close()


def main(args: list[str] | None = None) -> None:
    run_node(LlmServerNode, args)


if __name__ == "__main__":
    main()
