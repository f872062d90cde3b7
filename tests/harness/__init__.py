"""Test harness: real MediaMTX and ffmpeg processes on free ports, cleaned up even on failure."""

from tests.harness.ffmpeg import TestCamera
from tests.harness.mediamtx import MediaMTXInstance, mediamtx_binary, run_mediamtx
from tests.harness.ports import free_port, free_ports
from tests.harness.procs import ManagedProcess, ProcessGroupCleanup, start_process, wait_for

__all__ = [
    "ManagedProcess",
    "MediaMTXInstance",
    "ProcessGroupCleanup",
    "TestCamera",
    "free_port",
    "free_ports",
    "mediamtx_binary",
    "run_mediamtx",
    "start_process",
    "wait_for",
]
