"""The Ray Serve application: one autoscaled graph behind a FastAPI ingress.

Thin by design: every deployment loads its model from the registry and calls
``entertainai`` for all logic (ranking, filters, events, security).
"""
