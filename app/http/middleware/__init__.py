"""Pure ASGI middleware, one per module, each named `...Middleware`."""
