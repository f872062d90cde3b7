"""Turning add/update params into Camera objects, including the credential rules."""

from __future__ import annotations

from pydantic import SecretStr

from camera_service.cameras.models import Camera, OnvifEndpoint
from camera_service.cameras.schemas import AddCameraParams, OnvifInput, UpdateCameraParams
from camera_service.cameras.urls import parse_source
from camera_service.core.errors import invalid_input


def _onvif(value: OnvifInput | None, old: OnvifEndpoint | None = None) -> OnvifEndpoint | None:
    if value is None:
        return None
    password: SecretStr | None
    if "password" in value.model_fields_set:
        password = SecretStr(value.password) if value.password else None
    else:
        password = old.password if old is not None else None  # keep the stored one
    return OnvifEndpoint(
        host=value.host,
        port=value.port,
        xaddr=value.xaddr,
        username=value.username,
        password=password,
        profile_token=value.profile_token,
    )


def camera_from_add(camera_id: str, p: AddCameraParams) -> Camera:
    parsed = parse_source(p.source)
    has_url_creds = parsed.username is not None or parsed.password is not None
    if has_url_creds and (p.username is not None or p.password is not None):
        raise invalid_input("username", "give credentials either in the source URL or as username/password")
    if parsed.kind != "pull" and (p.username or p.password):
        raise invalid_input("username", "only pulled (URL) sources take credentials")
    username = parsed.username if has_url_creds else p.username
    password = parsed.password if has_url_creds else p.password
    return Camera(
        id=camera_id,
        name=p.name or camera_id,
        source=parsed.source,
        enabled=True if p.enabled is None else p.enabled,
        on_demand=bool(p.on_demand),
        substream=p.substream,
        rtsp_transport=p.rtsp_transport,
        tags=p.tags or [],
        group=p.group,
        site=p.site,
        zone=p.zone,
        agency=p.agency,
        onvif=_onvif(p.onvif),
        metadata=p.metadata or {},
        username=username or None,
        password=SecretStr(password) if password else None,
        secret_query={k: SecretStr(v) for k, v in parsed.secret_query.items()},
    )


def apply_update(old: Camera, p: UpdateCameraParams) -> tuple[Camera, bool]:
    """The changed camera, and whether the stored (encrypted) credentials must be kept as they are."""
    given = p.model_fields_set - {"camera"}
    for required in ("name", "enabled", "on_demand"):
        if required in given and getattr(p, required) is None:
            raise invalid_input(required, "must not be null")
    changes: dict[str, object] = {}
    simple = (
        "name",
        "enabled",
        "on_demand",
        "substream",
        "rtsp_transport",
        "group",
        "site",
        "zone",
        "agency",
    )
    for key in simple:
        if key in given:
            changes[key] = getattr(p, key)
    if "tags" in given:
        changes["tags"] = p.tags or []
    if "metadata" in given:
        changes["metadata"] = p.metadata or {}
    if "onvif" in given:
        changes["onvif"] = _onvif(p.onvif, old.onvif)
    username, password, secret_query = old.username, old.password, dict(old.secret_query)
    creds_changed = False
    if "source" in given:
        if p.source is None:
            raise invalid_input("source", "must not be null")
        parsed = parse_source(p.source)
        changes["source"] = parsed.source
        url_creds = parsed.username is not None or parsed.password is not None
        if url_creds and ({"username", "password"} & given):
            raise invalid_input(
                "username", "give credentials either in the source URL or as username/password"
            )
        if parsed.kind != "pull":
            username, password, secret_query, creds_changed = None, None, {}, True
        elif url_creds:
            username = parsed.username
            password = SecretStr(parsed.password) if parsed.password else None
            creds_changed = True
        if parsed.secret_query:
            secret_query = {k: SecretStr(v) for k, v in parsed.secret_query.items()}
            creds_changed = True
    if "username" in given:
        username, creds_changed = p.username or None, True
        if not username and "password" not in given:
            password = None
    if "password" in given:
        password, creds_changed = (SecretStr(p.password) if p.password else None), True
    new_kind = parse_source(str(changes.get("source", old.source))).kind
    if new_kind != "pull" and (username or password):
        raise invalid_input("username", "only pulled (URL) sources take credentials")
    if creds_changed:
        changes.update(
            username=username, password=password, secret_query=secret_query, credentials_error=None
        )
    elif "onvif" in given and old.credentials_error:
        raise invalid_input("onvif", "stored credentials cannot be decrypted: set the source credentials too")
    new = old.model_copy(update=changes)
    # Re-validate the whole camera (model_copy does not validate).
    new = Camera.model_validate(
        {
            **new.model_dump(),
            "username": new.username,
            "password": new.password,
            "secret_query": new.secret_query,
            "credentials_error": new.credentials_error,
            "onvif": new.onvif,
        }
    )
    return new, bool(old.credentials_error) and not creds_changed
