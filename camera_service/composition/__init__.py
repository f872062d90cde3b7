"""Builders the composition root (camera_service/app.py) calls, one module per group of wiring:
`infrastructure` (the internal listener, the service's MediaMTX credential, MediaMTX, the Redis-backed
shared parts), `api` (the bound method registry and the dispatcher), `http` (the WebSocket endpoint and
every HTTP route). app.py still builds the domains, in dependency order; only app.py imports these.
"""
