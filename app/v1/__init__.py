"""The v1 JSON API: forecasts, evaluation, model metadata and reload, as the README documents it."""
