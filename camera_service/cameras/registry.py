"""CameraCache: the in-memory camera registry (what SQLite holds, loaded at start, written through).

Lookups never block: by id, in the stable order of list_cameras (by id), and by the established
protocol's names (cameraN, /dev/videoN: the N-th camera by creation order, from 0, counting only the
cameras the caller may see, so a scoped caller's numbers never reveal hidden cameras: security L14).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping

from camera_service.cameras.models import Camera
from camera_service.core.errors import not_found

_COMPAT_RE = re.compile(r"^(?:camera|/dev/video)(\d{1,6})$")


class CameraCache:
    def __init__(self) -> None:
        self._cameras: dict[str, Camera] = {}
        self._ids: list[str] = []  # sorted: the stable order of list_cameras
        self._seq: dict[str, int] = {}  # creation order: the compat names cameraN

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self._cameras

    @property
    def by_id(self) -> Mapping[str, Camera]:
        return self._cameras

    def find(self, camera_id: str) -> Camera | None:
        return self._cameras.get(camera_id)

    def get(self, camera_id: str) -> Camera:
        camera = self._cameras.get(camera_id)
        if camera is None:
            raise not_found("camera", camera_id)
        return camera

    def ids(self) -> list[str]:
        return list(self._ids)

    def all(self) -> list[Camera]:
        """Every camera in the stable order (by id)."""
        return [self._cameras[cid] for cid in self._ids]

    def put(self, camera: Camera, seq: int | None = None) -> None:
        if camera.id not in self._cameras:
            bisect.insort(self._ids, camera.id)
        self._cameras[camera.id] = camera
        if seq is not None:
            self._seq[camera.id] = seq

    def drop(self, camera_id: str) -> None:
        if self._cameras.pop(camera_id, None) is not None:
            self._ids.remove(camera_id)
        self._seq.pop(camera_id, None)

    def resolve_id(self, device: str, sees: Callable[[Camera], bool] | None = None) -> str:
        """Our ids; compat `cameraN` / `/dev/videoN` (N-th camera by creation order, from 0, among those
        `sees` admits, when given; a local-device camera whose source is that /dev/videoN wins).
        Raises NOT_FOUND."""
        if device in self._cameras:
            return device
        if device.startswith("/dev/"):
            for cid in self._ids:
                if self._cameras[cid].source == device:
                    return cid
        m = _COMPAT_RE.match(device)
        if m:
            by_seq = sorted(self._seq, key=self._seq.__getitem__)
            if sees is not None:
                by_seq = [cid for cid in by_seq if sees(self._cameras[cid])]
            n = int(m.group(1))
            if n < len(by_seq):
                return by_seq[n]
        raise not_found("camera", device)
