"""HTTP routes: each parses a request, calls the registry or the data plane, renders the answer."""

from app.http.routes import bench, docs, health, metrics, models, predict, reload

__all__ = ["bench", "docs", "health", "metrics", "models", "predict", "reload"]
