"""Side-by-side measurements against baselines: runnable scripts, not part of the test run."""
