"""HTTP routes: each parses a request, calls the registry or the data plane, renders the answer."""

from app.routes import docs, health, models, predict

__all__ = ["docs", "health", "models", "predict"]
