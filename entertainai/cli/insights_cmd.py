"""CLI commands of the insights capability."""

from __future__ import annotations

import argparse


def register(
    commands: argparse._SubParsersAction,
    *,
    train: argparse._SubParsersAction,
    generate: argparse._SubParsersAction,
    analyze: argparse._SubParsersAction,
) -> None:
    """Add this capability's commands: top-level ones to ``commands``, tasks to the groups."""
