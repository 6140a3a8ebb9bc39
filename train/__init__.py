"""Ray jobs: ``ray job submit --working-dir . -- python -m train.<job>``."""
