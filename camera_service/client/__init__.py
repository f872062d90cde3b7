"""Python client of camera-service: `async with CameraServiceClient() as cs: await cs.cameras.list()`.

Asyncio over one WebSocket, with a blocking wrapper (`SyncClient`) for scripts. Typed with the server's own
pydantic models (imported on the first typed call). See docs/client.md.
"""

from camera_service.client._api import METHODS
from camera_service.client.client import CameraServiceClient, EventsApi, connect
from camera_service.client.credentials import Backoff
from camera_service.client.download import DownloadError
from camera_service.client.errors import (
    AuthenticationError,
    CallTimeout,
    ClientError,
    ConnectionLost,
    NotConnected,
    RpcError,
)
from camera_service.client.streams import EventStream, NotificationStream
from camera_service.client.sync import SyncClient, SyncEventStream

__all__ = [
    "METHODS",
    "AuthenticationError",
    "Backoff",
    "CallTimeout",
    "CameraServiceClient",
    "ClientError",
    "ConnectionLost",
    "DownloadError",
    "EventStream",
    "EventsApi",
    "NotConnected",
    "NotificationStream",
    "RpcError",
    "SyncClient",
    "SyncEventStream",
    "connect",
]
