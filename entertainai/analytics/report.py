"""The analyst report: one self-contained HTML file with PNG charts (matplotlib, Agg).

Sections: platform and top-genre trends (history, forecast with interval, seasonal naive
beside, backtest scores), user segments (sizes, top genres), sentiment and emotions over time
(the dataset's labels; VADER where texts carry none), topics (top words, weekly shares) and
moderation rates (toxic/spam labels per week).
"""

from __future__ import annotations

import base64
import html
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from entertainai.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportConfig:
    horizon: int = 7
    top_genres: int = 4
    n_topics: int = 8
    max_texts: int = 20_000
    k_max: int = 8
    seed: int = 0


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _img(data: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _weeks(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    days = ts.astype("datetime64[D]")
    week = (days - np.timedelta64(4, "D")).astype("datetime64[W]").astype("datetime64[D]")
    return np.unique(week + np.timedelta64(4, "D"), return_inverse=True)


def _trends(ds: Any, config: ReportConfig) -> str:
    import matplotlib.pyplot as plt

    from entertainai.analytics.forecast import ForecastConfig, forecast
    from entertainai.analytics.series import series_from_interactions

    platform = series_from_interactions(ds.interactions, level="platform")
    genres = series_from_interactions(ds.interactions, ds.items, level="genre")
    genres = sorted(genres, key=lambda s: -s.values.sum())[: config.top_genres]
    fc = ForecastConfig(horizon=config.horizon, seed=config.seed)
    results = [forecast(s, fc) for s in platform + genres]
    fig, axes = plt.subplots(len(results), 1, figsize=(9, 2.6 * len(results)), squeeze=False)
    rows = []
    for ax, r in zip(axes[:, 0], results, strict=True):
        h = r.history
        assert h is not None
        ax.plot(h.index, h.values, color="k", lw=1, label="observed")
        ax.plot(r.timestamps, r.mean, color="C0", label=f"forecast ({r.model})")
        ax.fill_between(
            r.timestamps, r.lower, r.upper, color="C0", alpha=0.25, label=f"{r.level:.0%} interval"
        )
        ax.plot(r.timestamps, r.baseline, "--", color="C1", label="seasonal naive")
        ax.set_title(f"{r.uid}: daily interactions")
        ax.legend(fontsize=7, loc="upper left")
        chosen, naive = r.score(r.model), r.score("seasonal_naive")
        rows.append(
            f"<tr><td>{html.escape(r.uid)}</td><td>{r.model}</td><td>{chosen.smape:.2f}</td>"
            f"<td>{chosen.mase:.3f}</td><td>{chosen.coverage:.2f}</td><td>{naive.smape:.2f}</td>"
            f"<td>{naive.mase:.3f}</td></tr>"
        )
    fig.tight_layout()
    table = (
        "<table><tr><th>series</th><th>chosen</th><th>sMAPE</th><th>MASE</th>"
        f"<th>coverage ({fc.level:.0%} nominal)</th><th>seasonal naive sMAPE</th><th>seasonal naive MASE</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return "<h2>Trends and forecasts</h2>" + _img(_png(fig), "trends") + table


def _lift(genre: dict[str, Any]) -> str:
    return f"{genre['genre']} ({genre['lift']:.1f}x)"


def _segments(ds: Any, config: ReportConfig, model: Any | None) -> str:
    import matplotlib.pyplot as plt

    from entertainai.analytics.segments import Segments, SegmentsConfig, user_features

    if model is None:
        features = user_features(ds.interactions, ds.items)
        model = Segments(SegmentsConfig(k_max=config.k_max, seed=config.seed)).fit(features)
    profiles = model.profiles_
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(profiles)))
    ax.barh([p["name"] for p in profiles], [p["size"] for p in profiles], color="C2")
    ax.invert_yaxis()
    ax.set_xlabel("users")
    ax.set_title(f"{model.k_} segments")
    rows = "".join(
        f"<tr><td>{p['segment']}</td><td>{html.escape(p['name'])}</td><td>{p['size']}</td>"
        f"<td>{', '.join(_lift(g) for g in p['top_genres'])}</td>"
        f"<td>{p['main_device']}</td><td>{p['peak_time']}</td>"
        f"<td>{p['mean_interactions']:.1f}</td></tr>"
        for p in profiles
    )
    table = (
        "<table><tr><th>#</th><th>segment</th><th>users</th><th>top genres (lift)</th>"
        f"<th>device</th><th>peak time</th><th>interactions</th></tr>{rows}</table>"
    )
    return "<h2>User segments</h2>" + _img(_png(fig), "segments") + table


def _texts(ds: Any, config: ReportConfig) -> str:
    import matplotlib.pyplot as plt

    from entertainai.analytics.topics import Topics, TopicsConfig, shares_over_time

    table = ds.texts
    if table.num_rows == 0:
        return "<h2>Texts</h2><p>The dataset has no texts.</p>"
    ts = table.column("timestamp").to_numpy(zero_copy_only=False).astype("datetime64[s]")
    if np.isnat(ts).any():
        raise InputError("texts without a timestamp cannot be charted", location="texts.timestamp")
    weeks, index = _weeks(ts)
    n = np.bincount(index)
    sentiment = table.column("sentiment").to_pylist()
    if all(s is None for s in sentiment):  # no labels: VADER on the text itself
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        vader = SentimentIntensityAnalyzer()
        compound = [vader.polarity_scores(t)["compound"] for t in table.column("text").to_pylist()]
        sentiment = [
            "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral" for c in compound
        ]
        source = "VADER"
    else:
        source = "labels"
    fig, axes = plt.subplots(3, 1, figsize=(9, 8))
    for label in ("negative", "neutral", "positive"):
        hits = np.bincount(index, [s == label for s in sentiment], minlength=len(weeks))
        axes[0].plot(weeks, hits / n, marker="o", label=label)
    axes[0].set_title(f"sentiment share per week ({source})")
    emotions = table.column("emotions").to_pylist()
    for label in sorted({e for row in emotions for e in (row or [])}):
        hits = np.bincount(index, [label in (row or []) for row in emotions], len(weeks))
        axes[1].plot(weeks, hits / n, marker=".", label=label)
    axes[1].set_title("emotion share per week")
    for column in ("toxic", "spam"):
        flags = [bool(v) for v in table.column(column).to_pylist()]
        axes[2].plot(weeks, np.bincount(index, flags, len(weeks)) / n, marker="o", label=column)
    axes[2].set_title("moderation: flagged share per week")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = "<h2>Sentiment, emotions and moderation</h2>" + _img(_png(fig), "sentiment")

    texts = table.column("text").to_pylist()
    if len(texts) > config.max_texts:
        keep = np.sort(
            np.random.default_rng(config.seed).choice(len(texts), config.max_texts, False)
        )
        texts, ts = [texts[i] for i in keep], ts[keep]
    model = Topics(TopicsConfig(n_topics=config.n_topics, seed=config.seed)).fit(texts)
    periods, shares = shares_over_time(model.transform(texts), ts, "W")
    labels = [t["label"] for t in model.describe()]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.stackplot(periods, shares.T, labels=labels)
    ax.set_title("topic shares per week")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1, 0.5))
    rows = "".join(
        f"<tr><td>{t['topic']}</td><td>{html.escape(' '.join(t['top_words']))}</td></tr>"
        for t in model.describe()
    )
    return (
        out
        + "<h2>Topics of reviews and comments</h2>"
        + _img(_png(fig), "topics")
        + f"<table><tr><th>topic</th><th>top words</th></tr>{rows}</table>"
    )


def build_report(
    data: str, out: str | Path, config: ReportConfig = ReportConfig(), *, segments: Any = None
) -> Path:
    """Render the report of dataset ``data`` to ``out`` (one HTML file, charts embedded)."""
    import matplotlib

    matplotlib.use("Agg")
    from entertainai.data.dataset import Dataset

    ds = Dataset.open(data)
    if ds.interactions.num_rows == 0:
        raise InputError("no interactions: nothing to report", location=f"{data}/interactions")
    sections = [_trends(ds, config), _segments(ds, config, segments), _texts(ds, config)]
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>EntertainAI report</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
        "font-size:12px}img{max-width:100%}</style></head><body>"
        f"<h1>EntertainAI analyst report</h1><p>Dataset {html.escape(ds.uri)} "
        f"({ds.manifest.counts})</p>" + "".join(sections) + "</body></html>"
    )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
