"""Compatibility with the established MediaMTX Camera Service protocol (research/camerarecorder.md §1).

Config, HTTP routes (old health/polling routes, /files downloads) and the old-only methods; the
shared method names live in their domains (cameras/compat_methods.py, recordings/*). See docs/adr/0012.
"""
