"""Async client of the MediaMTX Control API v3 and playback server (v1.20.1).

One aiohttp session per client. Every list endpoint is read page by page: MediaMTX returns 100 items
per page by default and clients that read only page 0 silently lose paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

import aiohttp

from camera_service.core.types import JsonObject, JsonValue
from camera_service.mediamtx.errors import (
    MediaMTXError,
    MediaMTXNotFound,
    MediaMTXRejected,
    MediaMTXUnavailable,
)
from camera_service.mediamtx.models import MtxInfo, MtxPath, MtxPlaybackSegment, MtxRecording

# Query parameters of a Control API or playback request.
Query = Mapping[str, str | int]

PAGE_SIZE = 1000
# Bound on pages so a misbehaving server cannot keep us looping forever.
_MAX_PAGES = 10_000


def _qname(name: str) -> str:
    # Path names may contain slashes; MediaMTX routes are wildcards, so keep '/' literal.
    return quote(name, safe="/")


class MediaMTXClient:
    def __init__(self, api_url: str, playback_url: str | None = None, timeout_s: float = 5.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.playback_url = playback_url.rstrip("/") if playback_url else None
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        # The service's internal credential under MediaMTX `authMethod: http` (playback needs it).
        self.auth_headers: dict[str, str] = {}

    def set_basic_auth(self, user: str, password: str) -> None:
        self.auth_headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> MediaMTXClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- transport -------------------------------------------------------------------------------

    async def _request(
        self, method: str, url: str, *, params: Query | None = None, json_body: JsonValue = None
    ) -> JsonValue:
        await self.start()
        assert self._session is not None
        try:
            async with self._session.request(
                method, url, params=params, json=json_body, headers=self.auth_headers
            ) as resp:
                body = await resp.read()
                status = resp.status
                data: JsonValue = None
                if body:
                    try:
                        data = await resp.json(content_type=None)
                    except ValueError:
                        data = None
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise MediaMTXUnavailable(f"MediaMTX not reachable ({type(exc).__name__}: {exc})") from exc
        except aiohttp.ClientError as exc:
            raise MediaMTXError(f"MediaMTX request failed: {exc}") from exc
        if 200 <= status < 300:
            return data
        message = ""
        if isinstance(data, dict):
            message = str(data.get("error") or "")
        if not message:
            message = body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
        if status == 404:
            raise MediaMTXNotFound(message, status)
        if status == 400:
            raise MediaMTXRejected(message, status)
        raise MediaMTXError(message, status)

    async def _api(
        self, method: str, route: str, *, params: Query | None = None, json_body: JsonValue = None
    ) -> JsonValue:
        return await self._request(method, f"{self.api_url}{route}", params=params, json_body=json_body)

    async def _object(self, route: str) -> JsonObject:
        data = await self._api("GET", route)
        if not isinstance(data, dict):
            raise MediaMTXError(f"unexpected response from {route}: not an object")
        return data

    async def _list_all(self, route: str) -> list[JsonObject]:
        items: list[JsonObject] = []
        page = 0
        while page < _MAX_PAGES:
            data = await self._api("GET", route, params={"itemsPerPage": PAGE_SIZE, "page": page})
            if not isinstance(data, dict):
                raise MediaMTXError(f"unexpected list response from {route}")
            batch = data.get("items") or []
            for item in batch if isinstance(batch, list) else [batch]:
                if not isinstance(item, dict):
                    raise MediaMTXError(f"unexpected list response from {route}")
                items.append(item)
            page += 1
            page_count = data.get("pageCount")
            if not isinstance(page_count, int) or page >= page_count or not batch:
                break
        return items

    # ---- info ------------------------------------------------------------------------------------

    async def info(self) -> MtxInfo:
        return MtxInfo.model_validate(await self._api("GET", "/v3/info"))

    # ---- live paths ------------------------------------------------------------------------------

    async def list_paths(self) -> list[MtxPath]:
        return [MtxPath.model_validate(i) for i in await self._list_all("/v3/paths/list")]

    async def get_path(self, name: str) -> MtxPath:
        return MtxPath.model_validate(await self._api("GET", f"/v3/paths/get/{_qname(name)}"))

    # ---- path configs (RAM only in MediaMTX: re-apply after a restart) ---------------------------

    async def list_path_configs(self) -> list[JsonObject]:
        return await self._list_all("/v3/config/paths/list")

    async def get_path_config(self, name: str) -> JsonObject:
        return await self._object(f"/v3/config/paths/get/{_qname(name)}")

    # MediaMTX answers a config write before it publishes the new config to its readers (core.go: the
    # reply is sent, then reloadConf closes resources and only then stores the config), so a read right
    # after a write can miss it. Its core applies writes one at a time, in order: once the reply to a
    # second, empty write arrives, the first is published. That empty write changes nothing (reloadConf
    # compares and closes nothing) and, unlike polling GET for a 404, logs no error in MediaMTX.

    async def _publish_barrier(self) -> None:
        await self._api("PATCH", "/v3/config/global/patch", json_body={})

    async def add_path_config(self, name: str, conf: JsonObject) -> None:
        await self._api("POST", f"/v3/config/paths/add/{_qname(name)}", json_body=conf)
        await self._publish_barrier()

    async def replace_path_config(self, name: str, conf: JsonObject) -> None:
        """Upsert: MediaMTX creates the path when missing; unset keys revert to pathDefaults."""
        await self._api("POST", f"/v3/config/paths/replace/{_qname(name)}", json_body=conf)
        await self._publish_barrier()

    async def patch_path_config(self, name: str, conf: JsonObject) -> None:
        await self._api("PATCH", f"/v3/config/paths/patch/{_qname(name)}", json_body=conf)
        await self._publish_barrier()

    async def delete_path_config(self, name: str) -> None:
        await self._api("DELETE", f"/v3/config/paths/delete/{_qname(name)}")
        await self._publish_barrier()

    # ---- global config ---------------------------------------------------------------------------

    async def get_global_config(self) -> JsonObject:
        return await self._object("/v3/config/global/get")

    async def patch_global_config(self, conf: JsonObject) -> None:
        await self._api("PATCH", "/v3/config/global/patch", json_body=conf)

    async def patch_path_defaults(self, conf: JsonObject) -> None:
        await self._api("PATCH", "/v3/config/pathdefaults/patch", json_body=conf)

    # ---- recordings ------------------------------------------------------------------------------

    async def list_recordings(self) -> list[MtxRecording]:
        return [MtxRecording.model_validate(i) for i in await self._list_all("/v3/recordings/list")]

    async def get_recordings(self, name: str) -> MtxRecording:
        return MtxRecording.model_validate(await self._api("GET", f"/v3/recordings/get/{_qname(name)}"))

    async def delete_recording_segment(self, path: str, start: str) -> None:
        """`start` must be the exact string /v3/recordings/get returned (its zone picks the file name)."""
        await self._api("DELETE", "/v3/recordings/deletesegment", params={"path": path, "start": start})

    # ---- playback server -------------------------------------------------------------------------

    def _playback_base(self) -> str:
        if not self.playback_url:
            raise MediaMTXError("no playback_url configured")
        return self.playback_url

    async def playback_list(
        self, path: str, start: str | None = None, end: str | None = None
    ) -> list[MtxPlaybackSegment]:
        params = {"path": path}
        if start is not None:
            params["start"] = start
        if end is not None:
            params["end"] = end
        try:
            data = await self._request("GET", f"{self._playback_base()}/list", params=params)
        except MediaMTXNotFound:
            return []  # "no recording segments found"
        except MediaMTXRejected as exc:
            # v1.20.1 answers 400 "lstat <dir>: no such file or directory" before a path ever recorded.
            if "no such file or directory" in exc.message:
                return []
            raise
        if data is None:
            return []
        if not isinstance(data, list):
            raise MediaMTXError("unexpected playback list response: not an array")
        return [MtxPlaybackSegment.model_validate(i) for i in data]

    def playback_get_url(self, path: str, start: str, duration_s: float, fmt: str = "mp4") -> str:
        query = urlencode({"path": path, "start": start, "duration": f"{duration_s:g}", "format": fmt})
        return f"{self._playback_base()}/get?{query}"
