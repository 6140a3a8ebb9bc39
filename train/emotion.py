"""Train a emotion classifier on Ray: `python -m train.emotion --data FILE`.

See :mod:`train.text_classifier` for the flags; this entry point fixes --task emotion.
"""

from __future__ import annotations

import sys

from train.text_classifier import main as _main


def main(argv: list[str] | None = None) -> int:
    return _main(argv, task="emotion")


if __name__ == "__main__":
    sys.exit(main())
