"""Publish credentials of publisher cameras (security M7): `create_publish_url`. Decision: ADR 0022."""

from __future__ import annotations

from pydantic import BaseModel, Field

from camera_service.auth.methods import AuthApi
from camera_service.auth.roles import Role
from camera_service.cameras.models import SUBSTREAM_SUFFIX
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, invalid_params, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="security")


class PublishUrlParams(Params):
    camera: str = Field(min_length=1, max_length=128, description="A publisher camera's id.")


class PublishUrl(BaseModel):
    camera: str
    user: str = Field(description="User name to publish with (`publisher`).")
    password: str = Field(
        description="The camera's publish credential (shown once; stored hashed). Also accepted as "
        "`?token=`; RTMP: `?user=publisher&pass=...`; SRT: streamid `publish:<camera>:publisher:<password>`."
    )
    rtsp_url: str | None = Field(
        description="RTSP URL to publish the main stream to, with the credential (null: the main stream is "
        "pulled, only the substream is published)."
    )
    substream_rtsp_url: str | None = Field(
        description="RTSP URL to publish the substream to (`<camera>.sub`, same credential); null unless "
        "the camera's substream is `publisher`."
    )


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.ADMIN,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_PARAMS),
)
async def create_publish_url(api: AuthApi, ctx: CallContext, params: PublishUrlParams) -> PublishUrl:
    """Issue the publish credential of a publisher camera (`source: publisher`, or `substream: publisher`)
    and its RTSP URLs.

    Only this credential may publish into the camera's MediaMTX path, from any address; a second
    publisher cannot replace one that is publishing. Shown once (stored as a hash): calling again issues
    a new credential and the old one stops working at once (publishers already connected stay until they
    reconnect). Pull and device cameras take no publisher: -32602.
    """
    auth = api.auth
    ident = ctx.connection.identity
    assert ident is not None
    camera = await auth.lookup_camera(params.camera)
    if camera is None or not ctx.scope.sees(camera):
        raise not_found("camera", params.camera)
    kind = str(getattr(camera, "source_kind", ""))
    sub = getattr(camera, "substream", None) == "publisher"
    if kind != "publisher" and not sub:
        raise invalid_params(
            "camera", f"camera {camera.id!r} is a {kind or 'service'} camera: it takes no publisher"
        )
    user, password, url = await auth.issue_publish_url(camera.id, created_by=ident.subject)
    return PublishUrl(
        camera=camera.id,
        user=user,
        password=password,
        rtsp_url=url if kind == "publisher" else None,
        substream_rtsp_url=f"{url}{SUBSTREAM_SUFFIX}" if sub else None,
    )
