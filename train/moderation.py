"""Train a moderation classifier on Ray: `python -m train.moderation --data FILE`.

See :mod:`train.text_classifier` for the flags; this entry point fixes --task moderation.
"""

from __future__ import annotations

import sys

from train.text_classifier import main as _main


def main(argv: list[str] | None = None) -> int:
    return _main(argv, task="moderation")


if __name__ == "__main__":
    sys.exit(main())
