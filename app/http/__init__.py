"""The HTTP layer of the v1 API: routes, schemas, auth, middleware and error rendering."""
