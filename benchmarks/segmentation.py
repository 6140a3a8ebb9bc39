"""Segmentation on demo data: ARI vs the planted segments and the k chosen, against baselines.

    python -m benchmarks.segmentation [--users 2000] [--seeds 0,1]

Baselines on the same features: k-means with k chosen by silhouette alone, and a random
assignment with the planted k.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time

import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import adjusted_rand_score

from entertainai.analytics.segments import Segments, SegmentsConfig, user_features, with_k
from entertainai.data.dataset import Dataset
from entertainai.data.synthetic import DemoConfig, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks.segmentation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seeds", default="0,1", help="demo data seeds")
    args = parser.parse_args(argv)
    for seed in [int(s) for s in args.seeds.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            generate(f"{tmp}/demo", DemoConfig(n_users=args.users, seed=seed))
            ds = Dataset.open(f"{tmp}/demo")
            features = user_features(ds.interactions, ds.items)
            truth_table = pq.read_table(io.BytesIO(ds.extra("ground_truth/users.parquet")))
        segment = dict(
            zip(
                truth_table.column("user_id").to_pylist(),
                truth_table.column("segment").to_pylist(),
                strict=True,
            )
        )
        truth = np.array([segment[u] for u in features.user_ids])
        planted_k = len(np.unique(truth))
        began = time.perf_counter()
        model = Segments(SegmentsConfig(seed=seed)).fit(features)
        wall = time.perf_counter() - began
        ari = adjusted_rand_score(truth, model.labels_)
        by_silhouette = max(model.selection_, key=lambda s: s["silhouette"])["k"]
        sil_model = Segments(with_k(SegmentsConfig(seed=seed), by_silhouette)).fit(features)
        sil_ari = adjusted_rand_score(truth, sil_model.labels_)
        rng = np.random.default_rng(seed)
        random_ari = adjusted_rand_score(truth, rng.integers(0, planted_k, len(truth)))
        print(
            f"seed {seed}: planted k={planted_k}; ours k={model.k_} ARI {ari:.3f} ({wall:.0f}s wall) | "
            f"silhouette-only k={by_silhouette} ARI {sil_ari:.3f} | random ARI {random_ari:.3f} | "
            f"ratio ours/silhouette-only {ari / max(sil_ari, 1e-9):.2f}"
        )
        for s in model.selection_:
            print(
                f"    k={s['k']:2d} silhouette {s['silhouette']:.3f} gap {s['gap']:.3f} (se {s['gap_se']:.3f}) stability {s['stability']:.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
