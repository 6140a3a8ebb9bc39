"""Behaviour analytics: sentiment/emotion, text classification, forecasting, topics, segments."""
