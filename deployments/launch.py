"""Start the Serve graph from ``serve_config.yaml`` on a local Ray (or ``--address``).

    python -m deployments.launch [--registry ./artifacts] [--port 8000] [--address ...]

``entertainai serve`` and ``make run`` call this. Relative paths become absolute here, so
replicas find the registry whatever their working directory. Without configured API keys, a
development key is generated, stored hashed under ``runs/serve/`` and printed once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import ray
import yaml
from ray import serve

from deployments.app import build_graph
from deployments.ingress_hints import PROXY_CALLBACK, PROXY_CALLBACK_ENV
from deployments.settings import AppArgs
from entertainai.errors import EntertainAIError
from entertainai.serving.security import ENV_VAR, new_key_entry
from train.common import absolute, configure_logging, init_ray

log = logging.getLogger("deployments.launch")

CONFIG = Path(__file__).with_name("serve_config.yaml")
# Direct ingress: clients call the ingress replicas' own HTTP ports (from this one up) and skip
# the proxy actor, which here burnt as much CPU as the replica (~4x the throughput). The
# proxy on :8000 keeps working beside it and balances across replicas.
DIRECT_INGRESS_ENV = {
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": "30000",
    # Serve keeps a stopping ingress replica answering 30 s by default, for external load
    # balancers to notice; with no balancer in between, 5 s makes Ctrl-C and downscaling quick.
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "5",
}
PATH_ARGS = ("registry", "event_dir", "api_keys_file")


def load_config(path: Path = CONFIG) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text())
    if not config.get("applications"):
        raise EntertainAIError(f"{path}: no applications")
    return config


def app_args(app_config: dict[str, Any], overrides: dict[str, Any]) -> AppArgs:
    args = {**app_config.get("args", {}), **{k: v for k, v in overrides.items() if v is not None}}
    for key in PATH_ARGS:
        if args.get(key):
            args[key] = absolute(str(args[key]))
    return AppArgs(**args)


def deployment_options(app_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        d["name"]: {k: v for k, v in d.items() if k != "name"}
        for d in app_config.get("deployments", [])
    }


def ensure_dev_key(args: AppArgs, out_dir: Path) -> tuple[AppArgs, str | None]:
    """A development admin key when none is configured (printed once, stored hashed)."""
    if not args.require_api_key or args.api_keys_file or os.environ.get(ENV_VAR):
        return args, None
    key, entry = new_key_entry("dev", ["admin"])
    out_dir.mkdir(parents=True, exist_ok=True)
    secrets = out_dir / "api_keys.json"
    secrets.write_text(json.dumps([entry.to_json()], indent=2))
    secrets.chmod(0o600)
    return args.model_copy(update={"api_keys_file": str(secrets)}), key


def start(args: AppArgs, config: dict[str, Any], *, port: int | None = None) -> str:
    """Deploy the graph; returns its base URL."""
    http = {**config.get("http_options", {}), **({"port": port} if port else {})}
    http.setdefault("host", "127.0.0.1")
    serve.start(
        http_options={k: v for k, v in http.items() if k in ("host", "port", "request_timeout_s")}
    )
    app_config = config["applications"][0]
    serve.run(
        build_graph(args, deployment_options(app_config)),
        name=app_config.get("name", "entertainai"),
        route_prefix=app_config.get("route_prefix", "/"),
        logging_config=config.get("logging_config"),
    )
    return f"http://{http['host']}:{http.get('port', 8000)}"


def direct_ingress_urls(
    app_name: str = "entertainai", *, host: str = "127.0.0.1", span: int = 32
) -> list[str]:
    """The ingress replicas' own HTTP entrances on this host. Serve hands out ports from
    ``RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT`` up and skips busy ones (a port still closing
    from an earlier run), so the port is found, not assumed: each replica's ``/-/routes``
    names the app it serves."""
    first = int(os.environ.get("RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT", "30000"))
    urls = []
    for port in range(first, first + span):
        url = f"http://{host}:{port}"
        try:
            with urllib.request.urlopen(f"{url}/-/routes", timeout=0.5) as response:
                if app_name in json.loads(response.read()).values():
                    urls.append(url)
        except (OSError, ValueError):
            continue
    return urls


def print_examples(url: str, key: str | None, direct: str | None = None) -> None:
    """The tour: one curl per capability of the graph, and the web app."""
    k = key or "$ENTERTAINAI_KEY"
    print(f"\nEntertainAI is serving on {url}  (web app: {url}/  OpenAPI: {url}/docs)")
    if direct:
        print(f"fast entrance (direct ingress, one Gateway replica): {direct}")
    if key:
        print(f"development API key (admin; shown once): {key}")
    h = f"-H 'x-api-key: {k}'"
    j = f"{h} -H 'content-type: application/json'"
    tour = [
        ("recommendations", f"curl -s {h} '{url}/v1/users/u00001/recommendations?k=5'"),
        ("trending", f"curl -s {h} '{url}/v1/trending?window=1d&k=5'"),
        ("similar items", f"curl -s {h} '{url}/v1/items/i00001/similar?k=5'"),
        ("events", f"curl -s {j} -X POST {url}/v1/events -d '{{\"events\": [{{\"user_id\": "
         f"\"u00001\", \"item_id\": \"i00002\", \"event_type\": \"play\"}}]}}'"),
        ("text", f"curl -s {j} {url}/v1/generate/text -d '{{\"prompt\": \"The \", "
         f"\"max_new_tokens\": 80, \"seed\": 0}}'"),
        ("image", f"curl -s {j} {url}/v1/generate/image -d '{{\"num\": 16, \"grid\": true, "
         f"\"scale\": 4}}' -o digits.png"),
        ("melody", f"curl -s {j} {url}/v1/generate/melody -d '{{\"primer\": \"60,64,67\", "
         f"\"length_steps\": 64, \"format\": \"wav\"}}' -o melody.wav"),
        ("audio", f"curl -s {j} {url}/v1/generate/audio -d '{{\"seconds\": 0.5, \"seed\": 0}}' "
         "-o tones.wav"),
        ("sentiment", f"curl -s {j} {url}/v1/analyze/sentiment -d '{{\"texts\": "
         f"[\"Loved every minute of it\"]}}'"),
        ("emotion", f"curl -s {j} {url}/v1/analyze/emotion -d '{{\"texts\": "
         f"[\"What a wonderful surprise ending!\"]}}'"),
        ("moderation", f"curl -s {j} {url}/v1/moderate/text -d '{{\"texts\": "
         f"[\"Great show, thanks!\"]}}'"),
        ("topics", f"curl -s {j} {url}/v1/analyze/topics -d '{{\"texts\": "
         f"[\"a detective hunts a killer\"]}}'"),
        ("segments", f"curl -s {h} {url}/v1/segments"),
        ("readiness", f"curl -s {url}/readyz"),
        ("metrics", f"curl -s {h} {url}/metrics | head"),
    ]  # fmt: skip
    print("\ntry:")
    for what, line in tour:
        print(f"  # {what}\n  {line}")
    print("\nCtrl-C stops serving.")


def serve_forever(url: str) -> None:
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"]:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    print("\nshutting down")
    serve.shutdown()


def add_serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=str(CONFIG), help="Serve config YAML")
    parser.add_argument("--registry", help="registry root (path or URI)")
    parser.add_argument("--model", help="recommender to serve, e.g. hybrid@production")
    parser.add_argument("--port", type=int, help="HTTP port (default from the config: 8000)")
    parser.add_argument(
        "--proxy-only",
        action="store_true",
        help="a new local Ray without direct ingress (by default replicas also answer on "
        "127.0.0.1:30000+, the fast entrance)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_serve_args(parser)
    parser.add_argument("--address", help="Ray cluster (default: $RAY_ADDRESS or a new local Ray)")
    parser.add_argument("--no-block", action="store_true", help="deploy and return")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        return launch(args, block=not args.no_block)
    except EntertainAIError as exc:
        print(f"serve: error: {exc}", file=sys.stderr)
        return 2


def preflight(settings: AppArgs) -> None:
    """Refuse to deploy, in one line, what could only fail inside a replica: a recommender the
    registry lacks or cannot serve (capability models may be missing: they answer 503 and
    ``/readyz`` lists them)."""
    from deployments.readiness import train_command
    from entertainai.errors import NotFoundError
    from entertainai.registry import Registry
    from entertainai.serving.service import load_serving_models

    registry = Registry(settings.registry)
    for ref in (settings.model, settings.trending):
        if not ref or "/" in ref:
            continue
        try:
            registry.get(ref)
        except NotFoundError:
            raise EntertainAIError(
                f"{ref} is not in the registry {settings.registry}: train it with "
                f"{train_command(ref.split('@')[0])}"
            ) from None
    try:
        load_serving_models(settings.service_config())
    except EntertainAIError as exc:
        raise EntertainAIError(f"cannot serve {settings.model}: {exc}") from None


def launch(args: argparse.Namespace, *, block: bool) -> int:
    config = load_config(Path(args.config))
    settings = app_args(config["applications"][0], {"registry": args.registry, "model": args.model})
    preflight(settings)
    settings, key = ensure_dev_key(settings, Path("runs/serve").resolve())
    address = getattr(args, "address", None) or os.environ.get("RAY_ADDRESS")
    direct = None
    if not address and not ray.is_initialized():
        # Serve's proxy strips client hint headers only with this callback in its own
        # process's environment: a Ray we start ourselves inherits it (see cluster.yaml).
        os.environ.setdefault(PROXY_CALLBACK_ENV, PROXY_CALLBACK)
    if not address and not getattr(args, "proxy_only", False):
        if not ray.is_initialized():
            # Only a Ray we start ourselves inherits these; a cluster sets them in its own env.
            for name, value in DIRECT_INGRESS_ENV.items():
                os.environ.setdefault(name, value)  # an operator's choice of ports wins
    init_ray(address)
    try:
        url = start(settings, config, port=args.port)
    except Exception as exc:  # Serve's deploy errors carry a replica's traceback
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise EntertainAIError(
            f"deploying the graph failed: {first} (the replica logs under /tmp/ray/session_latest"
            "/logs/serve say more)"
        ) from None
    if not address and os.environ.get("RAY_SERVE_THROUGHPUT_OPTIMIZED") == "1":
        direct = (
            ", ".join(direct_ingress_urls(config["applications"][0].get("name", "entertainai")))
            or None
        )
    print_examples(url, key, direct)
    if block:
        serve_forever(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
