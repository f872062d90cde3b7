"""The camera registry: persistent cameras that MediaMTX always reflects, with live status."""
