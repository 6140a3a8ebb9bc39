"""``entertainai models list|show|promote|rollback|delete``."""

from __future__ import annotations

import argparse
import json

from entertainai.registry import Registry, default_root


def add_parser(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser(
        "models", help="list, inspect, promote and delete registered models"
    )
    models.add_argument(
        "--registry",
        default=None,
        help=f"registry root path or URI (default {default_root()!r}, env ENTERTAINAI_ARTIFACTS)",
    )
    sub = models.add_subparsers(dest="models_command", required=True, metavar="SUBCOMMAND")
    sub.add_parser("list", help="every model with its versions and aliases").set_defaults(
        handler=run_list
    )
    show = sub.add_parser("show", help="metadata of NAME, NAME@VERSION or NAME@ALIAS")
    show.add_argument("ref")
    show.set_defaults(handler=run_show)
    promote = sub.add_parser("promote", help="point an alias (default: production) at a version")
    promote.add_argument("name")
    promote.add_argument("version", type=int)
    promote.add_argument("--alias", default="production")
    promote.add_argument(
        "--serve-config",
        default=None,
        help="Serve config whose args say which refs the graph serves (default: the shipped one)",
    )
    promote.add_argument(
        "--force", action="store_true", help="skip the check against what serving needs"
    )
    promote.set_defaults(handler=run_promote)
    rollback = sub.add_parser("rollback", help="move an alias back to the version it had before")
    rollback.add_argument("name")
    rollback.add_argument("--alias", default="production")
    rollback.set_defaults(handler=run_rollback)
    delete = sub.add_parser(
        "delete", help="delete one version (refused while an alias points at it)"
    )
    delete.add_argument("name")
    delete.add_argument("version", type=int)
    delete.set_defaults(handler=run_delete)
    for parser in (*sub.choices.values(),):
        # Also after the subcommand (`models promote NAME 2 --registry DIR`), where people type it.
        parser.add_argument("--registry", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def run_list(args: argparse.Namespace) -> int:
    registry = Registry(args.registry)
    names = registry.names()
    if not names:
        print(f"no models in {registry.root}")
        return 0
    print(f"{'model':<20}{'version':>8}  {'kind':<12}{'created':<27}{'aliases':<22}ndcg")
    for name in names:
        aliases = registry.aliases(name)
        for mv in registry.versions(name):
            tags = ",".join(a for a, v in sorted(aliases.items()) if v == mv.version)
            ndcg = mv.metrics.get("ndcg")
            print(
                f"{name:<20}{mv.version:>8}  {mv.kind:<12}{mv.metadata.get('created', ''):<27}"
                f"{tags:<22}{'' if ndcg is None else f'{ndcg:.4f}'}"
            )
    return 0


def run_show(args: argparse.Namespace) -> int:
    registry = Registry(args.registry)
    mv = registry.get(args.ref)
    print(
        json.dumps(
            {
                **mv.metadata,
                "location": str(mv.location),
                "aliases": {a: v for a, v in registry.aliases(mv.name).items() if v == mv.version},
            },
            indent=2,
            sort_keys=True,
        )
    )
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from entertainai.serving.promotion import check_promotion, serving_config

    registry = Registry(args.registry)
    if not args.force:
        check_promotion(
            registry, args.name, args.version, args.alias, serving_config(args.serve_config)
        )
    registry.set_alias(args.name, args.alias, args.version)
    print(f"{args.name}@{args.alias} -> version {args.version}")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from entertainai.serving.promotion import rollback

    previous = rollback(Registry(args.registry), args.name, args.alias)
    print(f"{args.name}@{args.alias} -> version {previous} (rolled back)")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    Registry(args.registry).delete(args.name, args.version)
    print(f"deleted {args.name}@{args.version}")
    return 0
