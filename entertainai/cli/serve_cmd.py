"""``entertainai serve``: start the Ray Serve graph (the Ray part lives in ``deployments/``)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the API (Ray Serve) on 127.0.0.1:8000 until Ctrl-C",
        description="Starts a local Ray (or joins --address) and deploys deployments/serve_config.yaml.",
    )
    serve.add_argument(
        "--config", default=None, help="Serve config YAML (default: the shipped one)"
    )
    serve.add_argument("--registry", help="registry root (path or URI)")
    serve.add_argument("--model", help="recommender to serve (default: hybrid@production)")
    serve.add_argument("--port", type=int, help="HTTP port")
    serve.add_argument("--address", help="Ray cluster address (default: a new local Ray)")
    serve.add_argument(
        "--proxy-only",
        action="store_true",
        help="no direct ingress (by default replicas also answer on 127.0.0.1:30000+)",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    # The core never imports Ray: the command hands over to the Serve launcher.
    from deployments.launch import CONFIG, launch

    args.config = args.config or str(CONFIG)
    return launch(args, block=True)
