"""What every protocol shares: dependencies, auth, field types, error rendering, middleware, probes.

`app/v1/` and `app/v2/` stand on it side by side; it imports neither.
"""
