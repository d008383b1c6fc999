"""``llm-mars serve``: the engine behind an OpenAI-compatible HTTP API (llm_mars.llm.server).

Also runnable as ``python -m llm_mars.cli.serve [ARGS]`` (= ``llm-mars serve ARGS``).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from llm_mars.errors import LlmMarsError
from llm_mars.llm.backends import ENV_API_KEY
from llm_mars.llm.requests import ADAPTER_NAMES

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def register(subparsers: argparse._SubParsersAction) -> None:
    from llm_mars.llm import server
    from llm_mars.llm.model_store import PRECISIONS

    serve = subparsers.add_parser(
        "serve", help="serve the model and its adapters over an OpenAI-compatible HTTP API",
        description="Serve the base model and the bt/qa adapters over an OpenAI-compatible "
                    "HTTP API (/v1/models, /v1/chat/completions, /v1/completions, streaming). "
                    "The adapter is chosen by the request's 'model' field.")
    serve.add_argument("--host", default=server.DEFAULT_HOST,
                       help="address to listen on (default: %(default)s, this computer only)")
    serve.add_argument("--port", type=int, default=server.DEFAULT_PORT,
                       help="port (default: %(default)s; 0: any free port, printed at start)")
    serve.add_argument("--api-key", default=None,
                       help=f"require 'Authorization: Bearer KEY' (default: ${ENV_API_KEY}, "
                            "else no key)")
    serve.add_argument("--model", metavar="PATH", default=None,
                       help="a Hugging Face model folder (default: $LLM_MARS_MODEL or the "
                            "bundled SmolLM2-135M-Instruct)")
    serve.add_argument("--adapters", metavar="DIR", default=None,
                       help="folder with the bt/, qa/ and describe/ PEFT adapters (default: the "
                            "shipped ones); an adapter that is absent is not served")
    serve.add_argument("--dtype", choices=PRECISIONS, default=None,
                       help="precision (default: $LLM_MARS_DTYPE, else int4 on the CPU and "
                            "bfloat16 on a GPU)")
    serve.add_argument("--served-model-name", default=None,
                       help="the base model's id in the API (default: the model folder's name)")
    serve.add_argument("--max-batch", type=int, default=16,
                       help="most requests decoded together (default: %(default)s)")
    serve.add_argument("--request-timeout", type=float, default=server.REQUEST_TIMEOUT_S,
                       help="seconds before an unfinished request fails with 504 "
                            "(default: %(default)s)")
    serve.add_argument("--max-body-bytes", type=int, default=server.MAX_BODY_BYTES,
                       help="largest request body (default: %(default)s)")
    serve.add_argument("--max-connections", type=int, default=server.MAX_CONNECTIONS,
                       help="connections served at once; more get 503 (default: %(default)s)")
    serve.add_argument("--max-queued", type=int, default=server.MAX_QUEUED,
                       help="requests waiting or running on the engine; more get 429 "
                            "(default: %(default)s)")
    serve.add_argument("--read-timeout", type=float, default=server.READ_TIMEOUT_S,
                       help="seconds a whole request may take to arrive (default: %(default)s)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from llm_mars.llm.adapter_meta import default_adapters_dir
    from llm_mars.llm.engine import Engine
    from llm_mars.llm.model_store import BUNDLED_GGUF, resolve_model_dir
    from llm_mars.llm.server import OpenAIServer

    api_key = args.api_key or os.environ.get(ENV_API_KEY) or None
    folder = resolve_model_dir(args.model)
    configured = args.model or os.environ.get("LLM_MARS_MODEL")
    name = args.served_model_name or (Path(folder).name if configured
                                      else BUNDLED_GGUF.split(".")[0])
    root = Path(args.adapters) if args.adapters else default_adapters_dir()
    adapters = {n: root / n for n in ADAPTER_NAMES if (root / n).is_dir()}
    if not adapters:
        print(f"llm-mars serve: no adapter folder in {root}; serving the base model only",
              file=sys.stderr)
    if args.host not in LOOPBACK and api_key is None:
        print(f"llm-mars serve: warning: listening on {args.host} without an API key",
              file=sys.stderr)
    engine = Engine.load(folder, args.dtype, adapters=adapters, max_batch=args.max_batch)
    try:
        http = OpenAIServer(engine, name, host=args.host, port=args.port, api_key=api_key,
                            max_body_bytes=args.max_body_bytes,
                            max_connections=args.max_connections,
                            read_timeout_s=args.read_timeout, max_queued=args.max_queued,
                            request_timeout_s=args.request_timeout)
        try:
            signal.signal(signal.SIGTERM, _interrupt)
            print(f"llm-mars serve: listening on {http.url} (model {name}; adapters "
                  f"{', '.join(engine.adapters) or 'none'})", flush=True)
            http.serve_forever()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: a normal stop
            pass
        finally:
            http.close()
    finally:
        engine.close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """``llm-mars serve`` without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="llm-mars")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.handler(args)
    except LlmMarsError as exc:
        print(f"llm-mars: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
