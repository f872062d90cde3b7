"""Pydantic models of MediaMTX Control API / playback objects (v1.20.1).

extra="ignore": MediaMTX adds fields between releases and keeps deprecated ones; we read only what we use.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _MtxModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MtxInfo(_MtxModel):
    version: str = ""
    started: str | None = None


class MtxPathSource(_MtxModel):
    type: str = ""
    id: str = ""


class MtxTrack(_MtxModel):
    codec: str = ""
    codecProps: dict[str, Any] = Field(default_factory=dict)


class MtxReader(_MtxModel):
    type: str = ""
    id: str = ""


class MtxPath(_MtxModel):
    # Field names follow MediaMTX's JSON (camelCase) so model_validate needs no aliases.
    name: str
    confName: str = ""
    source: MtxPathSource | None = None
    available: bool = False
    availableTime: str | None = None
    online: bool = False
    onlineTime: str | None = None
    ready: bool = False
    readyTime: str | None = None
    tracks2: list[MtxTrack] = Field(default_factory=list)
    readers: list[MtxReader] = Field(default_factory=list)
    inboundBytes: int = 0
    outboundBytes: int = 0
    inboundFramesInError: int = 0


class MtxRecordingSegment(_MtxModel):
    start: str


class MtxRecording(_MtxModel):
    name: str
    segments: list[MtxRecordingSegment] = Field(default_factory=list)


class MtxPlaybackSegment(_MtxModel):
    start: str
    duration: float
    url: str = ""
