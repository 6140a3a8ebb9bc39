"""Demo data with planted structure: the dataset EntertainAI runs on out of the box.

``generate(out, DemoConfig(...))`` writes an ordinary dataset (items, users, interactions,
texts; see :mod:`entertainai.data.dataset`) whose structure is known because it was planted,
so every model and analytic can be checked against the truth:

* catalogue: 16 :data:`GENRES`; every item has 1-3 genres, listed primary first. Titles,
  descriptions and tags draw on disjoint per-genre vocabularies (:data:`GENRE_WORDS`) mixed
  with filler, so the words of a description identify its primary genre. Maturity ratings
  depend on the primary genre (Horror leans R, Animation and Family lean G/PG).
* users: ``n_segments`` segments, each with a Dirichlet genre-taste prototype and its own
  demographics (``age_band``, ``country``, ``device``, ``plan`` in ``users.attributes``); a
  user's taste is a noisy Dirichlet draw around their segment's prototype.
* interactions: a user picks a genre k with probability taste_k, then an item i with
  probability ∝ popularity_i^a × w_ik (its weight in genre k); overall
  p(i | user) ∝ popularity_i^a × Σ_k taste_k w_ik / Z_k with Z_k = Σ_j popularity_j^a w_jk, so
  taste is the share of a user's viewing per genre. Popularity is Zipf-like (Zipf-Mandelbrot
  with ``popularity_offset``). Optional latent ``n_niches`` (clusters of items the metadata
  does not show) take a ``niche_share`` of each user's draws, for the higher-rank taste of real
  logs; ``activity_sigma``, ``min_interactions``, ``rating_center`` and ``events="ratings"``
  shape the rest like MovieLens (``benchmarks/movielens_like.py``). Each (user, item)
  pair occurs at most once (later repeats are redrawn). Ratings rise with the affinity
  taste · w_i (plus user and item biases); events mix rating/view/play/like, ``value`` is the
  rating, the watch fraction or 1.0 (like). Timestamps follow an evening peak and a weekend
  lift (UTC); ``n_bursts`` mid-popularity items trend for a known window, during which every
  user's chance of picking them is multiplied by ``burst_multiplier`` (the observed lift in
  share is smaller, ~4-6x for the default 10x, because nobody watches an item twice).
* texts: reviews (for rating events) and comments on a ``review_fraction`` of interactions.
  Sentiment and emotions follow the rating (1-2 negative: anger/sadness/disgust, 3 neutral,
  4-5 positive: joy/surprise); words come from sentiment, emotion, filler and the item's genre
  vocabularies. Label ``rating`` is the user's (latent) rating of the item, for comments too.
  A fraction is toxic (insults; likelier on low ratings) or spam (promo words and links;
  rating null, sentiment neutral, no emotions). With probability ``label_noise`` each label
  family is independently replaced by a random draw (sentiment uniformly, with matching
  emotions; toxic and spam at their base rates), so the signal is learnable, not perfect.

Ground truth lies under ``extras/ground_truth/`` (``Dataset.extra("ground_truth/<file>")``):

======================  =======================================================================
``config.json``         the DemoConfig, genres, event mix, demographic categories
``segments.json``       per segment: name, share of users, genre prototype, demographics
``users.parquet``       user_id, segment, taste (list<float32> in GENRES order), bias
``items.parquet``       item_id, primary_genre, genre_weights (list<float32>), popularity (sums
                        to 1), popularity_rank (1 = most popular), quality (rating bias)
``bursts.json``         trending items: item_id, start, end (ISO UTC), start_ms, end_ms (the
                        window is [start, end)), multiplier
``seasonality.json``    hour-of-day weights (UTC, 24), weekday weights (Monday first, 7)
``vocabularies.json``   genre, sentiment, emotion, insult, spam, link and filler word lists
``texts.parquet``       text_id with its true, noise-free sentiment, emotions, toxic and spam
======================  =======================================================================

Generation is vectorised numpy, deterministic by ``seed``, and streamed: users are simulated
in blocks of 250, each block with its own random stream, and written in Parquet parts of about
``chunk_users`` users. The content therefore does not depend on the chunk size, and memory is
bounded by one chunk plus the (small, compressed) per-user and per-text ground truth.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import numbers
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from entertainai.data.dataset import DatasetWriter, Manifest
from entertainai.data.schemas import MATURITY_RATINGS
from entertainai.errors import InputError

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CONFIG",
    "DEMOGRAPHICS",
    "EMOTIONS",
    "EMOTION_WORDS",
    "EVENT_MIX",
    "GENRES",
    "GENRE_WORDS",
    "HOUR_WEIGHTS",
    "INSULT_WORDS",
    "LINK_WORDS",
    "SENTIMENTS",
    "SENTIMENT_WORDS",
    "SPAM_WORDS",
    "WEEKDAY_WEIGHTS",
    "DemoConfig",
    "generate",
]

# -- Vocabularies ---------------------------------------------------------------------------
# Every list is disjoint from every other, so counting words is a model-free check of the
# planted signal.

# fmt: off
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "Action": ("explosion", "chase", "fight", "mission", "soldier", "weapon", "agent", "rescue",
               "battle", "stunt", "hero", "commando"),
    "Adventure": ("journey", "treasure", "expedition", "island", "jungle", "quest", "explorer",
                  "map", "voyage", "ruins", "pirate", "wilderness"),
    "Animation": ("animated", "cartoon", "talking", "colorful", "toy", "critter", "doodle",
                  "pixel", "puppet", "sketch", "claymation", "bunny"),
    "Comedy": ("hilarious", "prank", "awkward", "sitcom", "goofy", "parody", "slapstick",
               "witty", "roommate", "mishap", "quirky", "gag"),
    "Crime": ("detective", "heist", "gangster", "police", "mafia", "robbery", "con", "cartel",
              "prison", "corrupt", "informant", "fraud"),
    "Documentary": ("archival", "interviews", "footage", "historian", "chronicle", "nature",
                    "wildlife", "biography", "filmmaker", "testimony", "expose", "survey"),
    "Drama": ("grief", "struggle", "marriage", "inheritance", "illness", "reconciliation",
              "estranged", "sacrifice", "tragedy", "generations", "hometown", "redemption"),
    "Family": ("kids", "parents", "holiday", "puppy", "siblings", "school", "grandma",
               "birthday", "camp", "wholesome", "backyard", "babysitter"),
    "Fantasy": ("dragon", "wizard", "magic", "kingdom", "elf", "spell", "sword", "prophecy",
                "enchanted", "sorcerer", "realm", "throne"),
    "Horror": ("haunted", "blood", "scream", "ghost", "demon", "zombie", "possessed", "cursed",
               "nightmare", "creepy", "slasher", "corpse"),
    "Music": ("concert", "band", "song", "guitar", "singer", "album", "tour", "stage", "rhythm",
              "melody", "drummer", "rapper"),
    "Mystery": ("clue", "whodunit", "puzzle", "disappearance", "suspect", "riddle", "hidden",
                "manor", "secret", "sleuth", "alibi", "missing"),
    "Romance": ("love", "kiss", "wedding", "heartbreak", "romance", "passion", "couple", "date",
                "soulmate", "crush", "flirt", "affair"),
    "Sci-Fi": ("alien", "spaceship", "robot", "galaxy", "future", "android", "planet", "laser",
               "cyborg", "starship", "dystopia", "wormhole"),
    "Thriller": ("conspiracy", "hostage", "assassin", "stalker", "paranoia", "twist", "danger",
                 "escape", "kidnapping", "suspense", "spy", "chase-down"),
    "Western": ("cowboy", "sheriff", "saloon", "outlaw", "frontier", "ranch", "horse", "desert",
                "gunslinger", "bounty", "stagecoach", "duel"),
}
GENRES: tuple[str, ...] = tuple(GENRE_WORDS)

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
SENTIMENT_WORDS: dict[str, tuple[str, ...]] = {
    "negative": ("terrible", "awful", "boring", "worst", "waste", "bad", "disappointing", "poor",
                 "mediocre", "dull", "hated", "pointless"),
    "neutral": ("okay", "fine", "average", "decent", "alright", "passable", "ordinary", "so-so",
                "standard", "fair", "watchable", "middling"),
    "positive": ("great", "amazing", "loved", "excellent", "brilliant", "wonderful", "fantastic",
                 "superb", "masterpiece", "enjoyed", "recommend", "beautiful"),
}
EMOTIONS: tuple[str, ...] = ("anger", "sadness", "disgust", "joy", "surprise")
EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "anger": ("furious", "angry", "outraged", "infuriating", "annoyed", "livid"),
    "sadness": ("sad", "depressing", "tearful", "gloomy", "cried", "miserable"),
    "disgust": ("disgusting", "gross", "revolting", "nauseating", "repulsive", "vile"),
    "joy": ("delighted", "happy", "joyful", "cheerful", "smiled", "heartwarming"),
    "surprise": ("unexpected", "shocked", "wow", "astonishing", "surprising", "stunned"),
}
INSULT_WORDS: tuple[str, ...] = ("idiot", "stupid", "moron", "dumb", "loser", "trash",
                                 "pathetic", "clown", "idiotic", "scum", "jerk", "fool")
SPAM_WORDS: tuple[str, ...] = ("free", "click", "win", "prize", "offer", "discount", "subscribe",
                               "bonus", "cheap", "deal", "limited", "giveaway", "promo", "crypto")
LINK_WORDS: tuple[str, ...] = ("http://free-movies.example", "www.win-prize.example",
                               "bit.ly/x7qz2", "http://cheap-streams.example/offer",
                               "www.crypto-bonus.example", "tinyurl.example/deal42")
REVIEW_FILLER: tuple[str, ...] = ("the", "this", "movie", "show", "really", "was", "it", "and",
                                  "i", "watched", "episode", "plot", "acting", "ending", "just",
                                  "so", "with", "about", "cast", "scenes")
DESCRIPTION_FILLER: tuple[str, ...] = ("a", "the", "follows", "world", "young", "life", "when",
                                       "must", "finds", "their", "who", "an", "new", "city",
                                       "against", "after", "together", "lives", "one", "story")
TITLE_NOUNS: tuple[str, ...] = ("Road", "Night", "Legacy", "Chronicles", "Files", "Protocol",
                                "Season", "Hour", "Game", "Line", "House", "Code", "Signal",
                                "Summer", "Edge", "Circle")
GENERIC_TAGS: tuple[str, ...] = ("classic", "award-winning", "new-release", "binge-worthy",
                                 "feel-good", "based-on-true-story", "cult", "indie",
                                 "blockbuster", "critically-acclaimed")

DEMOGRAPHICS: dict[str, tuple[str, ...]] = {
    "age_band": ("18-24", "25-34", "35-44", "45-54", "55+"),
    "country": ("US", "GB", "DE", "FR", "ES", "BR", "MX", "IN", "JP", "CA"),
    "device": ("tv", "mobile", "web", "tablet", "console"),
    "plan": ("basic", "standard", "premium"),
}

# Maturity rating distribution (over MATURITY_RATINGS) per primary genre.
_MATURITY_DEFAULT = (0.08, 0.22, 0.42, 0.25, 0.03)
_MATURITY_BY_GENRE: dict[str, tuple[float, ...]] = {
    "Horror": (0.0, 0.03, 0.27, 0.6, 0.1),
    "Thriller": (0.0, 0.05, 0.4, 0.5, 0.05),
    "Crime": (0.0, 0.05, 0.4, 0.5, 0.05),
    "Animation": (0.5, 0.38, 0.1, 0.02, 0.0),
    "Family": (0.55, 0.38, 0.07, 0.0, 0.0),
    "Documentary": (0.3, 0.4, 0.25, 0.05, 0.0),
    "Romance": (0.05, 0.2, 0.45, 0.28, 0.02),
}

# Seasonality: an evening peak (UTC) and a weekend lift.
HOUR_WEIGHTS: tuple[float, ...] = (3.0, 2.0, 1.2, 0.8, 0.6, 0.6, 0.8, 1.2, 1.6, 1.8, 2.0, 2.2,
                                   2.6, 2.6, 2.5, 2.6, 3.0, 3.6, 4.6, 6.0, 7.0, 7.0, 5.8, 4.2)
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.0, 0.95, 1.0, 1.05, 1.2, 1.5, 1.45)  # Monday first

# fmt: on

EVENT_MIX: dict[str, float] = {"rating": 0.35, "view": 0.3, "play": 0.25, "like": 0.1}

_BLOCK_USERS = 250  # users per random stream: the unit that makes output chunk-independent
_ID_WIDTH = 5
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000

# Ratings: center + slope·log(G × affinity) + user bias + item quality + noise, rounded to 1-5;
# G × affinity is 1 for an item that matches the user no better than uniform taste would.
_RATING_SLOPE = 1.0
_RATING_NOISE = 0.7
_USER_BIAS_SD = 0.3
_ITEM_QUALITY_SD = 0.35
_REDRAWS = 20  # rounds of redrawing repeated items before giving up on them

# Emotion probabilities (over EMOTIONS) of a text by rating 1..5; rating 3 has none.
_EMOTION_BY_RATING = np.array(
    [
        [0.45, 0.2, 0.35, 0.0, 0.0],
        [0.3, 0.45, 0.25, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.6, 0.4],
        [0.0, 0.0, 0.0, 0.7, 0.3],
    ]
)
_SECOND_EMOTION = 0.3
_TOXIC_BY_RATING = np.array([3.0, 2.0, 1.0, 0.5, 0.5])  # toxic texts lean on low ratings

# Text word slots: which vocabulary each word comes from, by text category, in the order
# (own sentiment, another sentiment, emotion, item genre, filler, insult, spam, link).
_SLOT_PROBS = {
    "clean": (0.28, 0.04, 0.14, 0.14, 0.392, 0.005, 0.003, 0.0),
    "toxic": (0.2, 0.03, 0.1, 0.1, 0.32, 0.25, 0.0, 0.0),
    "spam": (0.0, 0.0, 0.0, 0.05, 0.35, 0.0, 0.45, 0.15),
}
_CATEGORIES = ("clean", "toxic", "spam")


@dataclass(frozen=True)
class DemoConfig:
    """Size, seed and planted-structure knobs of the demo dataset."""

    n_users: int = 2000
    n_items: int = 500
    interactions_per_user: float = 40.0  # mean distinct items per user
    n_segments: int = 5
    seed: int = 0
    start: str = "2026-01-01"  # first day (UTC)
    days: int = 60
    popularity_exponent: float = 1.2  # Zipf exponent of item popularity
    # Zipf-Mandelbrot offset q in popularity ∝ (rank + q)^-exponent: q > 0 flattens the head
    # (MovieLens' top items are close in popularity) while keeping the long tail.
    popularity_offset: float = 0.0
    popularity_weight: float = 1.0  # a in popularity^a x affinity
    activity_sigma: float = 0.7  # log-normal spread of distinct items per user
    min_interactions: int = 1  # floor of distinct items per user (MovieLens keeps >= 20)
    rating_center: float = 2.75  # rating at uniform affinity, before biases and noise
    events: str = "mixed"  # "mixed" (EVENT_MIX) or "ratings": every event a rating (MovieLens)
    # Latent niches: clusters of items (independent of genre, invisible in the metadata) that
    # each user favours a few of, as franchises and release cohorts do in MovieLens. A
    # niche_share of each user's draws picks a niche by the user's niche taste (Dirichlet
    # niche_concentration), then an item in it by popularity; 0 niches: genre taste alone.
    n_niches: int = 0
    niche_share: float = 0.5
    niche_concentration: float = 0.1
    segment_concentration: float = 0.3  # Dirichlet alpha of prototypes: lower = more focused
    taste_concentration: float = 40.0  # higher = users closer to their segment prototype
    n_bursts: int = 5
    burst_hours: float = 36.0
    burst_multiplier: float = 10.0
    review_fraction: float = 0.1  # share of interactions with a review or comment
    toxic_fraction: float = 0.05
    spam_fraction: float = 0.03
    label_noise: float = 0.05
    chunk_users: int = 20000  # users per Parquet part, rounded up to whole blocks of 250

    def __post_init__(self) -> None:
        kinds = {"int": (numbers.Integral, int), "float": (numbers.Real, float), "str": (str, str)}
        for f in fields(self):
            value = getattr(self, f.name)
            kind, cast = kinds[str(f.type)]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise InputError(
                    f"must be {f.type}, got {value!r}", location=f"DemoConfig.{f.name}"
                )
            object.__setattr__(self, f.name, cast(value))  # numpy scalars -> plain, for JSON
        positive = (
            "n_users",
            "n_items",
            "interactions_per_user",
            "n_segments",
            "days",
            "segment_concentration",
            "taste_concentration",
            "burst_hours",
            "burst_multiplier",
            "chunk_users",
            "niche_concentration",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise InputError(
                    f"must be > 0, got {getattr(self, name)!r}", location=f"DemoConfig.{name}"
                )
        for name in (
            "seed",
            "n_bursts",
            "popularity_exponent",
            "popularity_offset",
            "popularity_weight",
            "activity_sigma",
            "n_niches",
        ):
            if getattr(self, name) < 0:
                raise InputError(
                    f"must be >= 0, got {getattr(self, name)!r}", location=f"DemoConfig.{name}"
                )
        for name in (
            "review_fraction",
            "toxic_fraction",
            "spam_fraction",
            "label_noise",
            "niche_share",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(
                    f"must be in [0, 1], got {getattr(self, name)!r}", location=f"DemoConfig.{name}"
                )
        if self.toxic_fraction + self.spam_fraction > 1.0:
            raise InputError("toxic_fraction + spam_fraction must be <= 1", location="DemoConfig")
        if self.events not in ("mixed", "ratings"):
            raise InputError(
                f"must be 'mixed' or 'ratings', got {self.events!r}", location="DemoConfig.events"
            )
        if not 1 <= self.min_interactions <= self.n_items:
            raise InputError(
                f"must be in [1, n_items], got {self.min_interactions!r}",
                location="DemoConfig.min_interactions",
            )
        if self.n_bursts > self.n_items:
            raise InputError(
                f"cannot exceed n_items ({self.n_items})", location="DemoConfig.n_bursts"
            )
        if self.burst_hours > 24 * self.days:
            raise InputError(
                f"cannot exceed the {self.days} days simulated", location="DemoConfig.burst_hours"
            )
        try:
            dt.date.fromisoformat(self.start)
        except ValueError:
            raise InputError(
                f"not an ISO date (YYYY-MM-DD): {self.start!r}", location="DemoConfig.start"
            ) from None

    @property
    def start_ms(self) -> int:
        day = dt.date.fromisoformat(self.start)
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


DEFAULT_CONFIG = DemoConfig()


# -- Randomness and small helpers -----------------------------------------------------------


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    """An independent stream per (stream, index): blocks never share or shift randomness."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


# Niches draw from a stream of their own, so a config without them gives the same bytes.
_STREAM_CATALOGUE, _STREAM_SEGMENTS, _STREAM_BURSTS, _STREAM_BLOCK, _STREAM_NICHES = range(5)


def _categorical(
    rng: np.random.Generator, probs: np.ndarray, size: int | None = None
) -> np.ndarray:
    """Draw per row of a 2-D ``probs`` (unnormalised), or ``size`` draws from a 1-D one."""
    cum = np.cumsum(probs, axis=-1)
    if probs.ndim == 1:
        u = rng.random(size) * cum[-1]
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _categorical_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per entry of ``rows`` from that row of ``probs`` (rows unnormalised, > 0).

    Shifting row r's CDF by r turns all draws into one ``searchsorted``, without building a
    len(rows) x k matrix.
    """
    k = probs.shape[1]
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    flat = (cum + np.arange(len(probs))[:, None]).ravel()
    position = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    return np.clip(position - rows * k, 0, k - 1)


def _ids(prefix: str, index: np.ndarray) -> pa.Array:
    text = pc.utf8_lpad(pa.array(index, pa.int64()).cast(pa.string()), width=_ID_WIDTH, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def _lists(offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


class _Vocabulary:
    """All word lists concatenated; a word is ``start[list] + k`` so sampling is vectorised."""

    def __init__(self, lists: dict[str, tuple[str, ...]]) -> None:
        self.names = list(lists)
        self.id = {name: i for i, name in enumerate(self.names)}
        sizes = np.array([len(words) for words in lists.values()])
        self.start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.size = sizes
        self.words = pa.array([w for words in lists.values() for w in words])

    def sample(self, rng: np.random.Generator, list_ids: np.ndarray) -> np.ndarray:
        return self.start[list_ids] + (rng.random(len(list_ids)) * self.size[list_ids]).astype(
            np.int64
        )

    def join(self, word_ids: np.ndarray, lengths: np.ndarray) -> pa.Array:
        """Texts from concatenated word ids and per-text lengths."""
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return pc.binary_join(_lists(offsets, self.words.take(pa.array(word_ids))), " ")


_VOCAB = _Vocabulary(
    {
        **{f"genre:{g}": words for g, words in GENRE_WORDS.items()},
        **{f"sentiment:{s}": words for s, words in SENTIMENT_WORDS.items()},
        **{f"emotion:{e}": words for e, words in EMOTION_WORDS.items()},
        "insult": INSULT_WORDS,
        "spam": SPAM_WORDS,
        "link": LINK_WORDS,
        "review_filler": REVIEW_FILLER,
        "description_filler": DESCRIPTION_FILLER,
    }
)
_GENRE_LIST = np.array([_VOCAB.id[f"genre:{g}"] for g in GENRES])
_SENTIMENT_LIST = np.array([_VOCAB.id[f"sentiment:{s}"] for s in SENTIMENTS])
_EMOTION_LIST = np.array([_VOCAB.id[f"emotion:{e}"] for e in EMOTIONS])


# -- The world: catalogue, segments, bursts, seasonality ------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    genres: np.ndarray  # (n, 3) genre indices, primary first, -1 padded
    n_genres: np.ndarray  # (n,)
    weights: np.ndarray  # (n, G) genre weights, rows sum to 1
    popularity: np.ndarray  # (n,) sums to 1
    quality: np.ndarray  # (n,) rating bias
    table: pa.Table


@dataclass(frozen=True)
class _Segments:
    share: np.ndarray  # (K,)
    prototypes: np.ndarray  # (K, G)
    demographics: dict[str, np.ndarray]  # attribute -> (K, n_categories)


@dataclass(frozen=True)
class _Bursts:
    items: np.ndarray
    start_ms: np.ndarray
    end_ms: np.ndarray
    given_genre: np.ndarray  # (G, n_bursts) p(burst item | genre k draw)


@dataclass(frozen=True)
class _World:
    config: DemoConfig
    catalogue: _Catalogue
    segments: _Segments
    bursts: _Bursts
    item_ids: pa.Array
    genre_present: np.ndarray  # (G,) whether any item has genre k
    niche_present: np.ndarray  # (n_niches,) whether any item is in niche m
    # ((G + n_niches) * n_items,) item CDF of component k (genres, then niches), shifted by k
    item_cdf: np.ndarray
    day_cdf: np.ndarray
    hour_cdf: np.ndarray


def _catalogue(config: DemoConfig) -> _Catalogue:
    rng = _rng(config.seed, _STREAM_CATALOGUE)
    n, n_genres_total = config.n_items, len(GENRES)
    primary = _categorical(rng, rng.dirichlet(np.full(n_genres_total, 30.0)), n)
    n_genres = _categorical(rng, np.array([0.4, 0.4, 0.2]), n) + 1
    # Secondary genres: a random order of the other genres, cut to 0-2 of them.
    keys = rng.random((n, n_genres_total))
    keys[np.arange(n), primary] = 2.0
    others = np.argsort(keys, axis=1)[:, :2]
    genres = np.column_stack([primary, others])
    genres[:, 1:][np.arange(2) >= (n_genres - 1)[:, None]] = -1
    weights = np.zeros((n, n_genres_total))
    rows = np.repeat(np.arange(n), 3).reshape(n, 3)
    weights[rows[genres >= 0], genres[genres >= 0]] = 0.5
    weights[np.arange(n), primary] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)

    ranks = rng.permutation(n) + 1
    popularity = (ranks + config.popularity_offset) ** -config.popularity_exponent
    popularity /= popularity.sum()
    quality = rng.normal(0.0, _ITEM_QUALITY_SD, n)

    table = pa.table(
        {
            "item_id": _ids("i", np.arange(n)),
            "title": _titles(rng, primary),
            "description": _descriptions(rng, genres, n_genres),
            "genres": [[GENRES[g] for g in row if g >= 0] for row in genres.tolist()],
            "tags": _tags(rng, primary),
            "year": pa.array(_years(rng, n), pa.int32()),
            "kind": _kinds(rng, primary),
            "maturity_rating": _maturity(rng, primary),
            "available": rng.random(n) >= 0.05,
        }
    )
    return _Catalogue(genres, n_genres, weights, popularity, quality, table)


def _titles(rng: np.random.Generator, primary: np.ndarray) -> list[str]:
    n = len(primary)
    word = _VOCAB.sample(rng, _GENRE_LIST[primary])
    nouns = rng.integers(0, len(TITLE_NOUNS), n)
    the, sequel = rng.random(n) < 0.4, rng.integers(2, 5, n) * (rng.random(n) < 0.1)
    words = _VOCAB.words.take(pa.array(word)).to_pylist()
    return [
        f"{'The ' if t else ''}{w.replace('-', ' ').title()} {TITLE_NOUNS[k]}"
        + (f" {s}" if s else "")
        for w, k, t, s in zip(words, nouns.tolist(), the.tolist(), sequel.tolist(), strict=True)
    ]


def _descriptions(rng: np.random.Generator, genres: np.ndarray, n_genres: np.ndarray) -> pa.Array:
    # ~40% primary-genre words, ~15% words of any of its genres, the rest filler.
    lengths = rng.integers(18, 31, len(genres))
    item = np.repeat(np.arange(len(genres)), lengths)
    slot = rng.random(len(item))
    any_genre = genres[item, (rng.random(len(item)) * n_genres[item]).astype(int)]
    lists = np.where(
        slot < 0.4,
        _GENRE_LIST[genres[item, 0]],
        np.where(slot < 0.55, _GENRE_LIST[any_genre], _VOCAB.id["description_filler"]),
    )
    return pc.utf8_capitalize(_VOCAB.join(_VOCAB.sample(rng, lists), lengths))


def _tags(rng: np.random.Generator, primary: np.ndarray) -> list[list[str]]:
    genre_tag = _VOCAB.words.take(pa.array(_VOCAB.sample(rng, _GENRE_LIST[primary]))).to_pylist()
    n_generic = rng.integers(0, 3, len(primary))
    generic = np.argsort(rng.random((len(primary), len(GENERIC_TAGS))), axis=1)[:, :2]
    return [
        [tag] + [GENERIC_TAGS[g] for g in row[:k]]
        for tag, row, k in zip(genre_tag, generic.tolist(), n_generic.tolist(), strict=True)
    ]


def _years(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(2026 - rng.exponential(9.0, n).astype(int), 1950, 2026)


def _kinds(rng: np.random.Generator, primary: np.ndarray) -> list[str]:
    u = rng.random(len(primary))
    name = np.array(GENRES)[primary]
    kind = np.where(u < 0.65, "movie", "series")
    kind = np.where((name == "Music") & (u < 0.7), "music", kind)
    kind = np.where(name == "Documentary", "documentary", kind)
    return kind.tolist()


def _maturity(rng: np.random.Generator, primary: np.ndarray) -> list[str]:
    table = np.array([_MATURITY_BY_GENRE.get(g, _MATURITY_DEFAULT) for g in GENRES])
    return np.array(MATURITY_RATINGS)[_categorical(rng, table[primary])].tolist()


def _segments(config: DemoConfig) -> _Segments:
    rng = _rng(config.seed, _STREAM_SEGMENTS)
    k = config.n_segments
    share = rng.dirichlet(np.full(k, 6.0))
    prototypes = rng.dirichlet(np.full(len(GENRES), config.segment_concentration), size=k)
    demographics = {
        name: rng.dirichlet(np.full(len(values), 1.5), size=k)
        for name, values in DEMOGRAPHICS.items()
    }
    return _Segments(share, prototypes, demographics)


def _bursts(
    config: DemoConfig, catalogue: _Catalogue, genre_mass: np.ndarray, pop_a: np.ndarray
) -> _Bursts:
    rng = _rng(config.seed, _STREAM_BURSTS)
    # Mid-popularity items (ranks 10%-60%), so a burst stands out against their usual share.
    order = np.argsort(-catalogue.popularity)
    lo, hi = int(0.1 * config.n_items), max(int(0.6 * config.n_items), config.n_bursts)
    pool = order[lo:hi] if hi - lo >= config.n_bursts else order
    items = np.sort(rng.choice(pool, size=config.n_bursts, replace=False))
    span_ms = config.days * _DAY_MS - int(config.burst_hours * _HOUR_MS)
    start = (config.start_ms + rng.random(config.n_bursts) * span_ms).astype(np.int64)
    start -= start % _HOUR_MS
    end = start + int(config.burst_hours * _HOUR_MS)
    given_genre = pop_a[items, None] * catalogue.weights[items] / np.maximum(genre_mass, 1e-300)
    return _Bursts(items, start, end, given_genre.T)


def _world(config: DemoConfig) -> _World:
    catalogue = _catalogue(config)
    segments = _segments(config)
    # p(i | u) ∝ pop_i^a Σ_k taste_k w_ik / Z_k is a mixture: draw a genre k ∝ taste_k, then
    # an item from genre k's own CDF. That costs O(log n_items) per draw, not O(n_items).
    pop_a = catalogue.popularity**config.popularity_weight
    per_genre = pop_a[:, None] * catalogue.weights  # (n, G)
    genre_mass = per_genre.sum(axis=0)
    # Niches are more components of the same mixture: item i is in niche m with weight 1.
    niche = _rng(config.seed, _STREAM_NICHES).integers(0, max(config.n_niches, 1), config.n_items)
    per_niche = pop_a[:, None] * (niche[:, None] == np.arange(config.n_niches)[None, :])
    components = np.hstack([per_genre, per_niche])
    mass = components.sum(axis=0)
    cdf = np.cumsum(components, axis=0) / np.where(mass > 0, mass, 1.0)
    cdf[-1] = 1.0
    item_cdf = (cdf.T + np.arange(components.shape[1])[:, None]).ravel()

    start_weekday = dt.date.fromisoformat(config.start).weekday()
    day_weights = np.array(WEEKDAY_WEIGHTS)[(start_weekday + np.arange(config.days)) % 7]
    return _World(
        config=config,
        catalogue=catalogue,
        segments=segments,
        bursts=_bursts(config, catalogue, genre_mass, pop_a),
        item_ids=catalogue.table.column("item_id").combine_chunks(),
        genre_present=genre_mass > 0,
        niche_present=mass[len(GENRES) :] > 0,
        item_cdf=item_cdf,
        day_cdf=np.cumsum(day_weights) / day_weights.sum(),
        hour_cdf=np.cumsum(HOUR_WEIGHTS) / sum(HOUR_WEIGHTS),
    )


# -- One block of users -----------------------------------------------------------------------

Arrays = dict[str, np.ndarray]


def _simulate_block(world: _World, block: int) -> tuple[Arrays, Arrays, Arrays]:
    """Users, interactions and texts of the block-th 250 users, as numpy arrays."""
    config = world.config
    rng = _rng(config.seed, _STREAM_BLOCK, block)
    first = block * _BLOCK_USERS
    users = _simulate_users(world, rng, first, min(config.n_users, first + _BLOCK_USERS))
    interactions = _simulate_interactions(
        world, rng, users, _rng(config.seed, _STREAM_NICHES, 1 + block)
    )
    texts = _simulate_texts(world, rng, interactions)
    return users, interactions, texts


def _simulate_users(world: _World, rng: np.random.Generator, first: int, stop: int) -> Arrays:
    config, segments = world.config, world.segments
    n = stop - first
    segment = _categorical(rng, segments.share, n)
    alpha = config.taste_concentration * segments.prototypes[segment] + 0.02
    gamma = rng.standard_gamma(alpha) + 1e-12
    sigma = config.activity_sigma
    activity = config.interactions_per_user * rng.lognormal(-0.5 * sigma**2, sigma, n)
    return {
        "user": np.arange(first, stop),
        "segment": segment,
        "taste": gamma / gamma.sum(axis=1, keepdims=True),
        "bias": rng.normal(0.0, _USER_BIAS_SD, n),
        "count": np.clip(rng.poisson(activity), config.min_interactions, config.n_items),
        **{
            f"attr:{name}": _categorical(rng, dist[segment])
            for name, dist in segments.demographics.items()
        },
    }


def _simulate_interactions(
    world: _World, rng: np.random.Generator, users: Arrays, niche_rng: np.random.Generator
) -> Arrays:
    config, catalogue = world.config, world.catalogue
    local = np.repeat(np.arange(len(users["user"])), users["count"])
    genre_probs = users["taste"] * world.genre_present
    genre_probs /= genre_probs.sum(axis=1, keepdims=True)
    # "genre" is the mixture component of each draw: a genre, or (index >= G) a niche.
    genre = _categorical_rows(rng, genre_probs, local)
    by_genre = genre.copy()
    if config.n_niches:
        shape = (len(users["user"]), config.n_niches)
        gamma = niche_rng.standard_gamma(config.niche_concentration, shape) + 1e-12
        niche_probs = gamma * world.niche_present  # unnormalised niche taste per user
        by_niche = np.flatnonzero(niche_rng.random(len(local)) < config.niche_share)
        genre[by_niche] = len(GENRES) + _categorical_rows(niche_rng, niche_probs, local[by_niche])
    item = _items_in_genre(world, rng, genre)
    ts = _timestamps(world, rng, len(local))
    item = _redirect_bursts(world, rng, item, ts, (genre_probs @ world.bursts.given_genre)[local])
    # A repeated (user, item) is redrawn within the same genre, so taste stays the share of a
    # user's viewing even once their favourite genre's hits are used up.
    draws = np.arange(len(local))  # the draws still worth checking: users with repeats
    for attempt in range(_REDRAWS):
        repeat = draws[_repeats(local[draws], item[draws], config.n_items)]
        if not len(repeat):
            break
        if attempt == _REDRAWS // 2:  # a user's niches are used up: back to their genre draw
            genre[repeat] = by_genre[repeat]
        item[repeat] = _items_in_genre(world, rng, genre[repeat])
        draws = draws[np.isin(local[draws], local[repeat])]
    keep = np.flatnonzero(~_repeats(local, item, config.n_items))
    keep = keep[np.lexsort((ts[keep], local[keep]))]
    local, item, ts, genre = local[keep], item[keep], ts[keep], genre[keep]
    n = len(local)

    affinity = np.einsum("ij,ij->i", users["taste"][local], catalogue.weights[item])
    # A niche pick is rated like the user's average genre pick: E[taste . w] = sum taste^2.
    niche_pick = genre >= len(GENRES)
    affinity[niche_pick] = (users["taste"][local[niche_pick]] ** 2).sum(axis=1)
    score = (
        config.rating_center
        + _RATING_SLOPE * np.log(len(GENRES) * affinity + 0.05)
        + users["bias"][local]
        + catalogue.quality[item]
        + rng.normal(0.0, _RATING_NOISE, n)
    )
    rating = np.clip(np.rint(score), 1, 5).astype(np.int8)
    event = _categorical(rng, np.array(list(EVENT_MIX.values())), n)
    if config.events == "ratings":  # drawn all the same, so the later draws do not shift
        event[:] = list(EVENT_MIX).index("rating")
    like, view = list(EVENT_MIX).index("like"), list(EVENT_MIX).index("view")
    event[(event == like) & (rating < 4)] = view  # likes only for items the user liked
    # Watch fraction rises with the (latent) rating: 0.15 at 1 star to 0.83 at 5.
    mean = 0.15 + 0.17 * (rating - 1)
    watched = rng.beta(mean * 5.0, (1.0 - mean) * 5.0)
    value = np.where(event == list(EVENT_MIX).index("rating"), rating, watched)
    value = np.where(event == like, 1.0, value)
    preferred = users["attr:device"][local]
    device = np.where(
        rng.random(n) < 0.75, preferred, rng.integers(0, len(DEMOGRAPHICS["device"]), n)
    )
    return {
        "user": users["user"][local],
        "item": item,
        "ts": ts,
        "event": event,
        "value": value.astype(np.float32),
        "device": device,
        "rating": rating,
    }


def _timestamps(world: _World, rng: np.random.Generator, n: int) -> np.ndarray:
    day = np.searchsorted(world.day_cdf, rng.random(n), side="right")
    hour = np.searchsorted(world.hour_cdf, rng.random(n), side="right")
    day = np.minimum(day, len(world.day_cdf) - 1)
    hour = np.minimum(hour, 23)
    return (
        world.config.start_ms + day * _DAY_MS + hour * _HOUR_MS + rng.integers(0, _HOUR_MS, n)
    ).astype(np.int64)


def _redirect_bursts(
    world: _World, rng: np.random.Generator, item: np.ndarray, ts: np.ndarray, usual: np.ndarray
) -> np.ndarray:
    """Inside a burst window, multiply each draw's chance of the trending item by m.

    ``usual[:, j]`` is the draw's ordinary chance p of burst item j; redirecting with
    q = (m-1)p / (1+(m-1)p) makes it q + (1-q)p = mp / (1+(m-1)p), the renormalised m·p.
    """
    bursts, lift = world.bursts, world.config.burst_multiplier - 1.0
    item = item.copy()
    for j, (b, start, end) in enumerate(
        zip(bursts.items, bursts.start_ms, bursts.end_ms, strict=True)
    ):
        redirect = lift * usual[:, j] / (1.0 + lift * usual[:, j])
        hit = (ts >= start) & (ts < end) & (rng.random(len(item)) < redirect)
        item[hit] = b
    return item


def _items_in_genre(world: _World, rng: np.random.Generator, genre: np.ndarray) -> np.ndarray:
    n_items = world.config.n_items
    position = np.searchsorted(world.item_cdf, genre + rng.random(len(genre)), side="right")
    return np.clip(position - genre * n_items, 0, n_items - 1)


def _repeats(local: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """Mask of draws whose (user, item) already occurred in an earlier draw."""
    key = local.astype(np.int64) * n_items + item
    order = np.argsort(key, kind="stable")  # stable: equal keys stay in draw order
    repeat = np.zeros(len(key), dtype=bool)
    repeat[order[1:][key[order][1:] == key[order][:-1]]] = True
    return repeat


def _simulate_texts(world: _World, rng: np.random.Generator, inter: Arrays) -> Arrays:
    config, catalogue = world.config, world.catalogue
    rows = np.flatnonzero(rng.random(len(inter["item"])) < config.review_fraction)
    n = len(rows)
    rating = inter["rating"][rows].astype(np.int64)

    weight = _TOXIC_BY_RATING[rating - 1]
    p_toxic = np.minimum(1.0, config.toxic_fraction * weight / (weight.mean() if n else 1.0))
    u = rng.random(n)
    toxic_cut = config.spam_fraction + np.minimum(p_toxic, 1.0 - config.spam_fraction)
    category = np.where(u < config.spam_fraction, 2, np.where(u < toxic_cut, 1, 0))
    spam = category == 2
    sentiment = np.where(spam, 1, np.select([rating <= 2, rating == 3], [0, 1], 2))
    emotions = _emotions(rng, rating) & ~spam[:, None]

    lengths = np.where(spam, rng.integers(6, 15, n), rng.integers(8, 21, n))
    words = _text_words(rng, lengths, category, sentiment, emotions, inter["item"][rows], catalogue)

    noisy = rng.random((3, n)) < config.label_noise  # sentiment, toxic, spam
    label_sentiment = np.where(noisy[0], rng.integers(0, 3, n), sentiment)
    # Relabelled texts get emotions that fit their new sentiment, so labels stay consistent.
    representative = np.array([1, 3, 4])[label_sentiment] + rng.integers(0, 2, n) * (
        label_sentiment != 1
    )
    label_emotions = np.where(noisy[0][:, None], _emotions(rng, representative), emotions)
    label_emotions &= ~spam[:, None]
    label_toxic = np.where(noisy[1], rng.random(n) < config.toxic_fraction, category == 1)
    label_spam = np.where(noisy[2], rng.random(n) < config.spam_fraction, spam)
    return {
        "user": inter["user"][rows],
        "item": inter["item"][rows],
        "kind": inter["event"][rows] == list(EVENT_MIX).index("rating"),  # True: review
        "ts": inter["ts"][rows] + rng.integers(60_000, 3 * _HOUR_MS, n),
        "rating": rating.astype(np.float32),
        "sentiment": sentiment,
        "emotions": emotions,
        "toxic": category == 1,
        "spam": spam,
        "label_sentiment": label_sentiment,
        "label_emotions": label_emotions,
        "label_toxic": label_toxic,
        "label_spam": label_spam,
        "lengths": lengths,
        "words": words,
    }


def _emotions(rng: np.random.Generator, rating: np.ndarray) -> np.ndarray:
    """(n, len(EMOTIONS)) mask: one emotion by rating, sometimes a second one of the same kind."""
    probs = _EMOTION_BY_RATING[rating - 1]
    mask = np.zeros(probs.shape, dtype=bool)
    has = probs.sum(axis=1) > 0
    rows = np.arange(len(rating))
    first = _categorical(rng, np.where(has[:, None], probs, 1.0))
    mask[rows[has], first[has]] = True
    rest = np.where(mask, 0.0, probs)
    second = _categorical(rng, np.where(has[:, None], rest, 1.0))
    add = has & (rng.random(len(rating)) < _SECOND_EMOTION)
    mask[rows[add], second[add]] = True
    return mask


def _text_words(
    rng: np.random.Generator,
    lengths: np.ndarray,
    category: np.ndarray,
    sentiment: np.ndarray,
    emotions: np.ndarray,
    item: np.ndarray,
    catalogue: _Catalogue,
) -> np.ndarray:
    """Word ids of every text, concatenated: each word slot picks a vocabulary, then a word."""
    text = np.repeat(np.arange(len(lengths)), lengths)
    slot_probs = np.array([_SLOT_PROBS[c] for c in _CATEGORIES])
    slot = _categorical_rows(rng, slot_probs, category[text])
    n = len(text)

    other = (sentiment[text] + rng.integers(1, 3, n)) % 3
    # A random one of the text's emotions; texts without one (neutral) use neutral words.
    emotion_mask = emotions[text]
    emotion = np.argmax(rng.random(emotion_mask.shape) * emotion_mask, axis=1)
    emotion_list = np.where(emotion_mask.any(axis=1), _EMOTION_LIST[emotion], _SENTIMENT_LIST[1])
    # The item's primary genre most of the time, otherwise any of its genres.
    word_item = item[text]
    pick = (rng.random(n) * catalogue.n_genres[word_item]).astype(int)
    pick[rng.random(n) < 0.6] = 0
    genre = catalogue.genres[word_item, pick]

    choices = [
        _SENTIMENT_LIST[sentiment[text]],
        _SENTIMENT_LIST[other],
        emotion_list,
        _GENRE_LIST[genre],
        np.full(n, _VOCAB.id["review_filler"]),
        np.full(n, _VOCAB.id["insult"]),
        np.full(n, _VOCAB.id["spam"]),
        np.full(n, _VOCAB.id["link"]),
    ]
    return _VOCAB.sample(rng, np.choose(slot, choices))


# -- Arrow tables --------------------------------------------------------------------------


def _concat(parts: list[Arrays]) -> Arrays:
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _users_table(users: Arrays) -> pa.Table:
    n, names = len(users["user"]), list(DEMOGRAPHICS)
    categories = pa.array([v for values in DEMOGRAPHICS.values() for v in values])
    start = np.cumsum([0] + [len(v) for v in DEMOGRAPHICS.values()])[:-1]
    codes = np.column_stack([start[j] + users[f"attr:{name}"] for j, name in enumerate(names)])
    attributes = pa.MapArray.from_arrays(
        pa.array(np.arange(0, n * len(names) + 1, len(names)), pa.int32()),
        pa.array(names * n),
        categories.take(pa.array(codes.ravel())),
    )
    return pa.table({"user_id": _ids("u", users["user"]), "attributes": attributes})


def _interactions_table(world: _World, inter: Arrays) -> pa.Table:
    return pa.table(
        {
            "user_id": _ids("u", inter["user"]),
            "item_id": world.item_ids.take(pa.array(inter["item"])),
            "event_type": pa.array(list(EVENT_MIX)).take(pa.array(inter["event"])),
            "value": inter["value"],
            "timestamp": pa.array(inter["ts"], pa.timestamp("ms", tz="UTC")),
            "device": pa.array(DEMOGRAPHICS["device"]).take(pa.array(inter["device"])),
        }
    )


def _emotion_lists(mask: np.ndarray) -> pa.ListArray:
    offsets = np.concatenate([[0], np.cumsum(mask.sum(axis=1))])
    return _lists(offsets, pa.array(EMOTIONS).take(pa.array(np.nonzero(mask)[1])))


def _text_ids(world: _World, texts: Arrays) -> pa.Array:
    # Each (user, item) pair has at most one interaction and one text: a stable, chunk-free id.
    return pc.binary_join_element_wise(
        "t", _ids("u", texts["user"]), world.item_ids.take(pa.array(texts["item"])), "-"
    )


def _texts_table(world: _World, texts: Arrays) -> pa.Table:
    sentiments = pa.array(SENTIMENTS)
    return pa.table(
        {
            "text_id": _text_ids(world, texts),
            "user_id": _ids("u", texts["user"]),
            "item_id": world.item_ids.take(pa.array(texts["item"])),
            "kind": np.where(texts["kind"], "review", "comment"),
            "text": pc.utf8_capitalize(_VOCAB.join(texts["words"], texts["lengths"])),
            "timestamp": pa.array(texts["ts"], pa.timestamp("ms", tz="UTC")),
            "rating": pa.array(texts["rating"], mask=texts["spam"]),
            "sentiment": sentiments.take(pa.array(texts["label_sentiment"])),
            "emotions": _emotion_lists(texts["label_emotions"]),
            "toxic": texts["label_toxic"],
            "spam": texts["label_spam"],
        }
    )


_TRUTH_USERS = pa.schema(
    [
        ("user_id", pa.string()),
        ("segment", pa.int32()),
        ("taste", pa.list_(pa.float32())),
        ("bias", pa.float32()),
    ]
)
_TRUTH_TEXTS = pa.schema(
    [
        ("text_id", pa.string()),
        ("sentiment", pa.string()),
        ("emotions", pa.list_(pa.string())),
        ("toxic", pa.bool_()),
        ("spam", pa.bool_()),
    ]
)


def _matrix_lists(matrix: np.ndarray) -> pa.ListArray:
    n, k = matrix.shape
    return _lists(np.arange(0, n * k + 1, k), pa.array(matrix.astype(np.float32).ravel()))


def _truth_users(users: Arrays) -> pa.Table:
    return pa.table(
        {
            "user_id": _ids("u", users["user"]),
            "segment": users["segment"].astype(np.int32),
            "taste": _matrix_lists(users["taste"]),
            "bias": users["bias"].astype(np.float32),
        },
        schema=_TRUTH_USERS,
    )


def _truth_texts(world: _World, texts: Arrays) -> pa.Table:
    return pa.table(
        {
            "text_id": _text_ids(world, texts),
            "sentiment": pa.array(SENTIMENTS).take(pa.array(texts["sentiment"])),
            "emotions": _emotion_lists(texts["emotions"]),
            "toxic": texts["toxic"],
            "spam": texts["spam"],
        },
        schema=_TRUTH_TEXTS,
    )


class _ParquetBuffer:
    """A Parquet file built in memory one row group per chunk (ground truth is small)."""

    def __init__(self, schema: pa.Schema) -> None:
        self._sink = pa.BufferOutputStream()
        self._writer = pq.ParquetWriter(self._sink, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def getvalue(self) -> bytes:
        self._writer.close()
        return self._sink.getvalue().to_pybytes()


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _json_bytes(data: object) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True).encode()


# -- Ground truth of the world -------------------------------------------------------------


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def _world_truth(world: _World) -> dict[str, bytes]:
    config, catalogue, segments, bursts = (
        world.config,
        world.catalogue,
        world.segments,
        world.bursts,
    )
    rank = np.empty(config.n_items, dtype=np.int32)
    rank[np.argsort(-catalogue.popularity, kind="stable")] = np.arange(1, config.n_items + 1)
    items = pa.table(
        {
            "item_id": world.item_ids,
            "primary_genre": pa.array(np.array(GENRES)[catalogue.genres[:, 0]]),
            "genre_weights": _matrix_lists(catalogue.weights),
            "popularity": catalogue.popularity,
            "popularity_rank": rank,
            "quality": catalogue.quality.astype(np.float32),
        }
    )
    segment_list = []
    for k in range(config.n_segments):
        top = np.argsort(-segments.prototypes[k])[:2]
        segment_list.append(
            {
                "segment": k,
                "name": f"{GENRES[top[0]]} & {GENRES[top[1]]} fans",
                "share": float(segments.share[k]),
                "prototype": {
                    g: float(p) for g, p in zip(GENRES, segments.prototypes[k], strict=True)
                },
                "demographics": {
                    name: {v: float(p) for v, p in zip(DEMOGRAPHICS[name], dist[k], strict=True)}
                    for name, dist in segments.demographics.items()
                },
            }
        )
    burst_list = [
        {
            "item_id": world.item_ids[int(b)].as_py(),
            "start": _iso(int(s)),
            "end": _iso(int(e)),
            "start_ms": int(s),
            "end_ms": int(e),
            "multiplier": config.burst_multiplier,
        }
        for b, s, e in zip(bursts.items, bursts.start_ms, bursts.end_ms, strict=True)
    ]
    vocabularies = {
        "genres": GENRE_WORDS,
        "sentiments": SENTIMENT_WORDS,
        "emotions": EMOTION_WORDS,
        "insults": INSULT_WORDS,
        "spam": SPAM_WORDS,
        "links": LINK_WORDS,
        "review_filler": REVIEW_FILLER,
        "description_filler": DESCRIPTION_FILLER,
    }
    return {
        "config.json": _json_bytes(
            {
                "config": asdict(config),
                "genres": GENRES,
                "event_mix": EVENT_MIX,
                "demographics": DEMOGRAPHICS,
            }
        ),
        "segments.json": _json_bytes(segment_list),
        "items.parquet": _parquet_bytes(items),
        "bursts.json": _json_bytes(burst_list),
        "seasonality.json": _json_bytes(
            {"hour_weights_utc": HOUR_WEIGHTS, "weekday_weights": WEEKDAY_WEIGHTS}
        ),
        "vocabularies.json": _json_bytes(vocabularies),
    }


# -- Entry point ---------------------------------------------------------------------------


def generate(
    out: str,
    config: DemoConfig = DEFAULT_CONFIG,
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> Manifest:
    """Write the demo dataset with planted structure to ``out`` (a path or pyarrow URI).

    Same config, same bytes: the manifest's ``content_hash`` depends only on ``config``.
    """
    began = time.perf_counter()
    world = _world(config)
    n_blocks = math.ceil(config.n_users / _BLOCK_USERS)
    blocks_per_chunk = math.ceil(config.chunk_users / _BLOCK_USERS)
    truth_users, truth_texts = _ParquetBuffer(_TRUTH_USERS), _ParquetBuffer(_TRUTH_TEXTS)

    with (
        DatasetWriter(out, source="demo", overwrite=overwrite) as writer,
        tqdm(total=config.n_users, unit="user", desc="demo data", disable=not progress) as bar,
    ):
        writer.write("items", world.catalogue.table)
        for first in range(0, n_blocks, blocks_per_chunk):
            simulated = [
                _simulate_block(world, b)
                for b in range(first, min(n_blocks, first + blocks_per_chunk))
            ]
            users, inter, texts = (_concat([s[j] for s in simulated]) for j in range(3))
            writer.write("users", _users_table(users))
            writer.write("interactions", _interactions_table(world, inter))
            writer.write("texts", _texts_table(world, texts))
            truth_users.write(_truth_users(users))
            truth_texts.write(_truth_texts(world, texts))
            bar.update(len(users["user"]))
        for name, data in _world_truth(world).items():
            writer.write_extra(f"ground_truth/{name}", data)
        writer.write_extra("ground_truth/users.parquet", truth_users.getvalue())
        writer.write_extra("ground_truth/texts.parquet", truth_texts.getvalue())
        writer.info["demo"] = {
            "config": asdict(config),
            "genres": list(GENRES),
            "ground_truth": "extras/ground_truth/",
        }
    assert writer.manifest is not None
    log.info(
        "demo data: %s in %.1fs -> %s", writer.manifest.counts, time.perf_counter() - began, out
    )
    return writer.manifest
