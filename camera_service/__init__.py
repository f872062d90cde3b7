"""camera-service: a JSON-RPC 2.0 WebSocket control plane for cameras, fronting MediaMTX."""

__version__ = "0.1.0"
API_VERSION = "1.0"
