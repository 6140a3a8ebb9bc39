"""Ray Tune searches: ``python -m tune.<search>``."""
