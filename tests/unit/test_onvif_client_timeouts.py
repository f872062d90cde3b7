"""The camera's call timeout bounds the camera's answers, not the local work of building service clients."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from camera_service.core.errors import TimedOut
from camera_service.onvif.client import OnvifClient
from tests.harness.onvif_sim import OnvifSim, SimConfig

TIMEOUT_S = 0.5


async def test_slow_wsdl_parsing_is_not_a_camera_timeout_but_a_silent_camera_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import onvif  # zeep (with httpx) takes 0.3 s to import: here, not in every worker's collection

    sim = OnvifSim(SimConfig(discovery=False, stall_ops=["GetSnapshotUri"], stall_s=2.0))
    await sim.start()
    original = onvif.ONVIFCamera.create_onvif_service
    parsed: set[str] = set()

    async def slow_first_build(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        # The library parses each service's WSDL once per process (a loaded host took > 3 s for media).
        if name.lower() not in parsed:
            parsed.add(name.lower())
            await asyncio.sleep(TIMEOUT_S * 2)
        return await original(self, name, *args, **kwargs)

    monkeypatch.setattr(onvif.ONVIFCamera, "create_onvif_service", slow_first_build)
    client = OnvifClient(f"{sim.base}/onvif/device_service", "admin", "secret", timeout_s=TIMEOUT_S)
    try:
        profiles = await client.call("media", "GetProfiles")
        assert profiles, "GetProfiles answered after two slow service builds"
        assert {"devicemgmt", "media"} <= parsed
        with pytest.raises(TimedOut) as err:
            await client.call("media", "GetSnapshotUri", {"ProfileToken": "main"})
        assert err.value.data == {"timeout_s": TIMEOUT_S, "operation": "GetSnapshotUri"}
    finally:
        await client.close()
        await sim.stop()
