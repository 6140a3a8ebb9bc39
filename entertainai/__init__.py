"""EntertainAI core library: recommendations, generation, analytics and moderation.

The core never imports Ray, FastAPI or pydantic: ``train/``, ``tune/`` and
``deployments/`` wrap it.
"""

__version__ = "0.1.0"
