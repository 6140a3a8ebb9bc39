"""Train the WaveNet on a folder of WAVs on Ray (TorchTrainer) and register it as ``wavenet``.

    python -m train.wavenet --data /abs/fsdd/recordings [--workers 2] [--gpu] [--smoke-test]
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m train.wavenet --data /abs/wavs --epochs 20 --param steps_per_epoch=500

Recordings are read at the model's sample rate (8 kHz by default; others are resampled) as
8-bit mu-law. The standard split holds out takes 0-4 of ``{label}_{speaker}_{take}.wav``
names (FSDD) and never trains on them; every 20th training file is the validation part,
scored in bits per sample. ``--data demo`` trains on synthetic tones instead
(``music_data.demo_recordings``). Same driver as ``train.melody``, same runner as every torch job.
"""

from __future__ import annotations

import argparse
import sys

from entertainai.generate import wavenet
from train.common import run_job
from train.melody import GeneratorJob, add_arguments, run_generator_job

WAVENET = GeneratorJob(
    kind="wavenet",
    job=wavenet.training_job,
    smoke_params={
        "epochs": 2,
        "steps_per_epoch": 5,
        "residual_channels": 8,
        "skip_channels": 16,
        "layers_per_stack": 4,
        "stacks": 1,
        "crop": 256,
        "batch_size": 4,
    },
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser, WAVENET)
    args = parser.parse_args(argv)
    return run_job("train.wavenet", lambda a: run_generator_job(WAVENET, a), args)


if __name__ == "__main__":
    sys.exit(main())
