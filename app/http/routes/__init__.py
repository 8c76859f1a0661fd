"""HTTP routes of the v1 API: each parses a request, calls the data plane, renders the answer.

`app.main.ROUTERS` is the one list of routers the app serves (these and V2's).
"""
