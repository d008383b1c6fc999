"""``console``: the operator's terminal. Type commands and questions; see plans, robot status
and answers as they arrive.

Parameters (launch/config/console.yaml):
  show_status (bool, true)   print robot status changes (progress responses)

Publishes: operator/command (String, Utterance JSON with source "typed")
Subscribes: operator/response (OperatorResponse JSON), world/state (for the `state` command)

Input lines: anything is sent as an utterance; `state` prints a one-line world summary;
`quit` (or end of input) leaves.
"""
from __future__ import annotations

import json
import sys
import threading

import rclpy
from rclpy.node import Node

from llm_mars.errors import PayloadError
from llm_mars.nodes.common import (LATEST, ParamSpec, declare_all, payload_subscription,
                                   run_node, string_publisher, string_subscription)
from llm_mars.payloads import OperatorResponse, Utterance

_MARK = {"plan": "PLAN", "answer": "ANSWER", "reply": "REPLY", "stopped": "STOP",
         "error": "ERROR", "progress": "status"}


PARAMETERS = (ParamSpec("show_status", True, "print robot status changes", runtime=True),)


class ConsoleNode(Node):
    def __init__(self, stdin=sys.stdin, stdout=sys.stdout, **kwargs):
        super().__init__("console", **kwargs)
        self.params = declare_all(self, PARAMETERS)
        self.stdin, self.stdout = stdin, stdout
        self._send = string_publisher(self, "operator/command")
        self.state: dict | None = None
        payload_subscription(self, "operator/response", OperatorResponse, self._on_response)
        string_subscription(self, "world/state", self._on_state, LATEST)
        self._reader = threading.Thread(target=self._read_lines, daemon=True)
        self._reader.start()

    def _read_lines(self) -> None:
        self._print("llm_mars console: type a command or a question ('quit' to leave)")
        for line in self.stdin:
            text = line.strip()
            if text in ("quit", "exit"):
                break
            if text == "state":
                self._print(summary_line(self.state))
            elif text:
                try:
                    utterance = Utterance.from_json(Utterance(text).to_json())
                except PayloadError as exc:
                    self._print(f"[ERROR] {exc}")
                    continue
                self._print(f"> [{utterance.id}] {utterance.text}")
                self._send(utterance.to_json())
        rclpy.try_shutdown(context=self.context)

    def _on_response(self, response: OperatorResponse) -> None:
        if response.kind == "progress" and not self.params.show_status:
            return
        self._print(f"[{_MARK[response.kind]}] [{response.id}] {response.text}")

    def _on_state(self, data: str) -> None:
        self.state = json.loads(data)

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


def summary_line(state: dict | None) -> str:
    if not state:
        return "no world state yet"
    robots = ", ".join(f"{name} at {body['location'] or 'driving'} ({body['tree_status']})"
                       for name, body in state["robots"].items())
    return (f"t={state['time_s']:.1f}s score={state['score']['total']} "
            f"basket={state['basket']} | {robots}")


def main(args: list[str] | None = None) -> None:
    run_node(ConsoleNode, args)


if __name__ == "__main__":
    main()
