"""The effective configuration: YAML file, then CAMERA_SERVICE_<SECTION>__<KEY> environment overrides.

Unknown keys anywhere (file or environment) stop start-up with the dotted key named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from camera_service.analytics.config import AnalyticsConfig
from camera_service.auth.config import SecurityConfig
from camera_service.cameras.config import CamerasConfig
from camera_service.cluster.config import ClusterConfig
from camera_service.compat.config import CompatConfig
from camera_service.config.sections import (
    DemoConfig,
    LoggingConfig,
    MediaMTXConfig,
    SecretsConfig,
    ServerConfig,
    StorageConfig,
)
from camera_service.core.dicts import deep_merge
from camera_service.events.config import EventsConfig
from camera_service.onvif.config import OnvifConfig
from camera_service.recordings.config import RecordingsConfig

ENV_PREFIX = "CAMERA_SERVICE_"
# Variables with the prefix that are not config keys: the config file location, the event loop choice.
ENV_NOT_KEYS = frozenset({"CAMERA_SERVICE_CONFIG", "CAMERA_SERVICE_EVENT_LOOP"})
DEFAULT_CONFIG_FILE = Path("config/default.yaml")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the reason."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
        validate_default=True,
    )

    server: ServerConfig = Field(
        default_factory=ServerConfig,
        title="Server",
        description="WebSocket/HTTP server.",
    )
    mediamtx: MediaMTXConfig = Field(
        default_factory=MediaMTXConfig,
        title="MediaMTX",
        description="The media server the service drives.",
    )
    storage: StorageConfig = Field(
        default_factory=StorageConfig,
        title="Storage",
        description="Where data lives.",
    )
    logging: LoggingConfig = Field(
        default_factory=LoggingConfig,
        title="Logging",
        description="Log output.",
    )
    demo: DemoConfig = Field(
        default_factory=DemoConfig,
        title="Demo camera",
        description="The built-in test-pattern camera.",
    )
    secrets: SecretsConfig = Field(
        default_factory=SecretsConfig,
        title="Secrets",
        description="Keys held by the service.",
    )
    # Domain sections (cameras, recording, events, security, onvif, analytics) are added below.
    cameras: CamerasConfig = Field(
        default_factory=CamerasConfig, title="Cameras", description="Camera registry, provisioning, status."
    )
    recordings: RecordingsConfig = Field(
        default_factory=RecordingsConfig,
        title="Recordings",
        description=("Recording, segment index, snapshots, exports, downloads, retention."),
    )
    events: EventsConfig = Field(
        default_factory=EventsConfig,
        title="Events",
        description="Event store, subscriptions, webhooks, rules, event clips.",
    )
    security: SecurityConfig = Field(
        default_factory=SecurityConfig,
        title="Security",
        description="Authentication, roles, scopes, limits, audit, live view.",
    )
    onvif: OnvifConfig = Field(
        default_factory=OnvifConfig, title="ONVIF", description="ONVIF discovery, import and PTZ control."
    )
    compat: CompatConfig = Field(
        default_factory=CompatConfig,
        title="Compatibility",
        description="Answers for clients of the established MediaMTX Camera Service protocol.",
    )
    analytics: AnalyticsConfig = Field(
        default_factory=AnalyticsConfig,
        title="Analytics",
        description="Objects, faces, plates, motion and tamper on sampled frames (worker process, models).",
    )
    cluster: ClusterConfig = Field(
        default_factory=ClusterConfig,
        title="Cluster",
        description="Several instances on one PostgreSQL: camera leases, routing (docs/scale-out.md).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (which arrives as init kwargs).
        return (env_settings, init_settings)


def _check_env_keys(environ: Mapping[str, str]) -> None:
    for name in environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in ENV_NOT_KEYS:
            continue
        parts = upper[len(ENV_PREFIX) :].lower().split("__")
        model: type[BaseModel] | None = Settings
        for i, part in enumerate(parts):
            if model is None or part not in model.model_fields:
                raise ConfigError(
                    f"unknown config key '{'.'.join(parts[: i + 1])}' (from environment variable {name})"
                )
            annotation = model.model_fields[part].annotation
            model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _format_validation_error(exc: ValidationError, origin: str) -> str:
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown config key '{key}' ({origin})")
        else:
            lines.append(f"invalid config key '{key}': {err['msg']} ({origin})")
    return "; ".join(lines)


def load_settings(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Load the YAML file (default: $CAMERA_SERVICE_CONFIG or config/default.yaml), apply env, validate.

    `overrides` (tests, CLI flags) are merged over the file; the environment still wins over both.
    """
    env = os.environ
    explicit = path is not None
    if path is None:
        path = Path(env["CAMERA_SERVICE_CONFIG"]) if env.get("CAMERA_SERVICE_CONFIG") else DEFAULT_CONFIG_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = loaded
    elif explicit or "CAMERA_SERVICE_CONFIG" in env:
        raise ConfigError(f"config file {path} does not exist")
    if overrides:
        data = deep_merge(data, dict(overrides))
    _check_env_keys(env)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, f"in {path} or the environment")) from exc
    _check_cluster(settings)
    return settings


def _check_cluster(settings: Settings) -> None:
    """Several instances share rows that only shared settings can read (docs/scale-out.md)."""
    if not settings.cluster.enabled:
        return
    missing = []
    if settings.storage.database_engine != "postgresql":
        missing.append("storage.database_url (postgresql://...)")
    if settings.cameras.secret_key is None:
        missing.append("cameras.secret_key (the camera credentials' key)")
    if settings.security.enabled and settings.security.jwt_secret is None:
        missing.append("security.jwt_secret (stream tokens and forwarded calls)")
    if missing:
        raise ConfigError("cluster.enabled needs, the same on every instance: " + "; ".join(missing))


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective config as plain data with every secret replaced by '**********'."""
    return settings.model_dump(mode="json")


def settings_from_args(config: str | None) -> Settings:
    """The settings a CLI command runs with: `--config PATH` (or the defaults and the environment)."""
    return load_settings(Path(config) if config else None)
