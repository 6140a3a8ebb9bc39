"""Insights: forecasts, user segments and topics behind one thin Serve deployment."""

from __future__ import annotations

from typing import Any

from ray import serve

from deployments.capability import ModelSlots, ServesModels
from deployments.settings import AppArgs
from entertainai.analytics.forecast import ForecastConfig, forecast_many
from entertainai.analytics.series import series_from_payload

DEFAULT_REFS = {"topics": "topics@production", "segments": "segments@production"}


@serve.deployment(name="Insights")
class Insights(ServesModels):
    def __init__(self, args: dict[str, Any]) -> None:
        settings = AppArgs(**args)
        self.models = ModelSlots(
            settings.registry,
            {**DEFAULT_REFS, **settings.capability_models},
            reload_interval_s=settings.reload_interval_s,
        )

    def forecast(self, request: dict[str, Any]) -> dict[str, Any]:
        """``{"series": [{unique_id, ds, y}], "horizon", "level", "gaps"}`` -> forecasts."""
        series = series_from_payload(request["series"], gaps=request.get("gaps", "error"))
        config = ForecastConfig(horizon=request["horizon"], level=request.get("level", 0.9))
        return {
            "forecasts": [{**r.report(), "points": r.rows()} for r in forecast_many(series, config)]
        }

    def segments(self) -> dict[str, Any]:
        model = self.models.get("segments")
        return {
            "model": self.models.versions()["segments"],
            "k": model.k_,
            "segments": model.profiles_,
            "selection": model.selection_,
        }

    def user_segment(self, user_id: str) -> dict[str, Any]:
        model = self.models.get("segments")
        segment = model.segment_of(user_id)
        profile = model.profiles_[segment]
        return {
            "model": self.models.versions()["segments"],
            "user_id": user_id,
            "segment": segment,
            "name": profile["name"],
        }

    def topics(self, texts: list[str]) -> dict[str, Any]:
        model = self.models.get("topics")
        shares = model.transform(texts)
        return {
            "model": self.models.versions()["topics"],
            "topics": model.describe(),
            "results": [
                {"shares": row.tolist(), "top_topic": int(row.argmax()) if row.any() else None}
                for row in shares
            ],
        }
