"""Ray-free building blocks of the serving path: the durable event log and API-key security.

``deployments/`` wraps these; everything here is testable without Ray, FastAPI or pydantic.
"""
