"""``entertainai`` — data, models, evaluation and training from the shell.

Every command has ``--help``. Errors meant for the user (bad files, unknown models) print one
line naming the file, line or field and exit with status 2; they never print a stack trace.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from entertainai.cli import (
    data_cmd,
    events_cmd,
    generate_image_cmd,
    generate_music_cmd,
    generate_text_cmd,
    insights_cmd,
    models_cmd,
    moderation_cmd,
    recommend_cmd,
    serve_cmd,
    text_analytics_cmd,
)
from entertainai.errors import EntertainAIError

# Capability command modules; each adds its own top-level commands and its tasks to the groups.
CAPABILITY_COMMANDS = (
    generate_text_cmd,
    generate_image_cmd,
    generate_music_cmd,
    text_analytics_cmd,
    moderation_cmd,
    insights_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="entertainai",
        description="EntertainAI: recommendations, generation, analytics and moderation.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_cmd.add_parser(commands)
    models_cmd.add_parser(commands)
    train = recommend_cmd.add_parsers(commands)
    serve_cmd.add_parser(commands)
    events_cmd.add_parser(commands)
    generate = commands.add_parser(
        "generate", help="generate text, images, style transfers, melodies or audio"
    ).add_subparsers(dest="generate_command", required=True, metavar="KIND")
    analyze = commands.add_parser(
        "analyze", help="analyse texts with a trained model (sentiment, emotion, topics, ...)"
    ).add_subparsers(dest="analyze_command", required=True, metavar="TASK")
    for module in CAPABILITY_COMMANDS:
        module.register(commands, train=train, generate=generate, analyze=analyze)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except EntertainAIError as exc:
        print(f"entertainai: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("entertainai: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
