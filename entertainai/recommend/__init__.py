"""Recommenders: one contract (``base.Recommender``), one model per file, honest evaluation."""

from entertainai.recommend.base import RECOMMENDERS, Recommendations, Recommender, create
from entertainai.recommend.filters import Filters
from entertainai.recommend.interactions import InteractionData

__all__ = ["RECOMMENDERS", "Filters", "InteractionData", "Recommendations", "Recommender", "create"]
