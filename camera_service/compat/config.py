"""Config section `compat`: how the service answers clients of the established protocol where a call
alone cannot tell an old client from a native one (docs/adr/0012-compat-old-clients.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from camera_service.config.base import ConfigModel


class CompatConfig(ConfigModel):
    """Per-deployment choices for clients of the established MediaMTX Camera Service protocol."""

    failed_authenticate: Literal["error", "result"] = Field(
        "error",
        title="Failed authenticate",
        description=(
            "How a failed `authenticate` answers: `error` = JSON-RPC error -32001 'Authentication failed' "
            "with data.reason (the documented protocol, and what native clients expect); `result` = the "
            "result {authenticated: false, error, reason} the old server sent, for deployments whose "
            "clients are the old SDKs (they drop error frames and would wait for their timeout)."
        ),
    )
    status_components: Literal["objects", "words"] = Field(
        "objects",
        title="get_status components",
        description=(
            "Shape of `components` in get_status: `objects` = {name: {healthy, status, details}}; `words` "
            "= {name: 'running'|'stopped'|...} as the old server answered (the objects then move to "
            "`component_details`)."
        ),
    )
    download_urls: Literal["by_shape", "files"] = Field(
        "by_shape",
        title="download_url form",
        description=(
            "`by_shape`: results of calls in the old shape (`device`, `filename`, list_recordings `offset`, "
            "get_snapshot_info) carry download_url `/files/<kind>/<name>` (relative: the old clients prefix "
            "their base URL; the route needs a token), other results the signed absolute `/downloads/` URL. "
            "`files`: every recording/snapshot list and info result carries the `/files/` form (for "
            "deployments whose clients call list_snapshots {limit, offset} the old way)."
        ),
    )
