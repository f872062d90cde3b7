"""The user cache the tests share with scripts/ (~/.cache/camera-service, or under XDG_CACHE_HOME): what
outlives one run and one clone (an initdb'd PostgreSQL template, the image build's layers)."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "camera-service"


def image_layer_cache() -> Path:
    """The buildah storage tests/image builds into and keeps: a later build reuses its unchanged layers."""
    return user_cache() / "image" / "buildah"
