"""Routes of the service itself, whatever the protocol: probes, metrics and the API docs.

`app.main.ROUTERS` is the one list of routers the app serves (these, v1's and V2's).
"""
