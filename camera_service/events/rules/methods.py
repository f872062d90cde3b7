"""JSON-RPC methods managing rules and showing their runs."""

from __future__ import annotations

from pydantic import BaseModel, Field

from camera_service.auth.roles import Role
from camera_service.events.methods import EventsApi
from camera_service.events.rules.actions import action_types
from camera_service.events.rules.engine import RuleValidationError
from camera_service.events.rules.models import Rule, RuleAction, RuleRun, RuleSource, RuleSpec, Trigger
from camera_service.events.rules.scope import named_cameras, owner_of, scoped_spec_problem, visible_to
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode, RpcError, invalid_params, not_found
from camera_service.rpc.registry import MethodRegistry, Params
from camera_service.rpc.scope import CameraScope

router = MethodRegistry(tag="rules")


class AddRuleParams(RuleSpec, Params):
    """A rule: trigger {topics, cameras?, conditions {labels?, min_confidence?, min_severity?, data?},
    schedule {days?, start, end, timezone?}, cooldown_s} and actions [{type, params}]."""


def _check_scope(ctx: CallContext, trigger: Trigger, actions: list[RuleAction]) -> None:
    """A scoped caller's rule names only its own cameras and posts to no webhook (security H3)."""
    scope = ctx.scope
    problem = scoped_spec_problem(trigger, actions, scope)
    if problem is not None:
        raise invalid_params(*problem)
    if not scope.unrestricted:
        scope.require_ids(sorted(named_cameras(trigger, actions)))


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.INVALID_PARAMS, ErrorCode.NOT_FOUND),
)
async def add_rule(api: EventsApi, ctx: CallContext, params: AddRuleParams) -> Rule:
    """Add a rule; it acts with your camera scope. Action types: clip {pre_s?, post_s?}, snapshot
    {camera?, format?}, webhook {id}, record {duration_s, camera?}, notify {severity, message?}, plus types
    other domains register. An identity with a camera scope must list `trigger.cameras` (its own) and
    cannot use webhook actions."""
    spec = RuleSpec(**params.model_dump())
    _check_scope(ctx, spec.trigger, spec.actions)
    try:
        return await api.events.rules.add(spec, owner=owner_of(ctx.connection.identity))
    except RuleValidationError as exc:
        raise invalid_params(exc.field, str(exc)) from exc


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER)
async def list_rules(api: EventsApi, ctx: CallContext) -> list[Rule]:
    """The rules you may see: from the config file (source=config, read-only) and from the API. With a
    camera scope: only rules made by scoped identities whose every camera is yours."""
    scope = ctx.scope
    return [r for r in api.events.rules.all() if visible_to(r, scope)]


class UpdateRuleParams(Params):
    id: str = Field(max_length=64, description="Rule id.")
    name: str | None = Field(None, min_length=1, max_length=200, description="New name.")
    enabled: bool | None = Field(None, description="Enable or disable.")
    description: str | None = Field(None, max_length=2000, description="New description.")
    trigger: Trigger | None = Field(None, description="New trigger (replaces the whole trigger).")
    actions: list[RuleAction] | None = Field(None, min_length=1, max_length=20, description="New actions.")


def _api_rule(api: EventsApi, ctx: CallContext, rule_id: str) -> Rule:
    rule = api.events.rules.get(rule_id)
    if rule is None or not visible_to(rule, ctx.scope):  # a hidden rule is an unknown rule (H3)
        raise not_found("rule", rule_id)
    if rule.source is RuleSource.CONFIG:
        raise RpcError(
            ErrorCode.INVALID_STATE,
            f"rule '{rule_id}' comes from the config file; change it there",
            {"id": rule_id, "source": "config"},
        )
    return rule


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_STATE, ErrorCode.INVALID_PARAMS),
)
async def update_rule(api: EventsApi, ctx: CallContext, params: UpdateRuleParams) -> Rule:
    """Change an API-managed rule; fields not given stay. Config-file rules are read-only."""
    rule = _api_rule(api, ctx, params.id)
    changes = params.model_dump(exclude={"id"}, exclude_none=True)
    spec = RuleSpec(**{**rule.model_dump(include=set(RuleSpec.model_fields)), **changes})
    _check_scope(ctx, spec.trigger, spec.actions)
    try:
        return await api.events.rules.replace(rule, spec)
    except RuleValidationError as exc:
        raise invalid_params(exc.field, str(exc)) from exc


class RuleIdParams(Params):
    id: str = Field(max_length=64, description="Rule id.")


class RuleRemoved(BaseModel):
    id: str
    removed: bool


@router.method(
    scope=CameraScope.CAMERAS,
    role=Role.OPERATOR,
    mutating=True,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.INVALID_STATE),
)
async def remove_rule(api: EventsApi, ctx: CallContext, params: RuleIdParams) -> RuleRemoved:
    """Remove an API-managed rule (its past runs stay visible)."""
    _api_rule(api, ctx, params.id)
    await api.events.rules.remove(params.id)
    return RuleRemoved(id=params.id, removed=True)


class ListRuleRunsParams(Params):
    rule: str | None = Field(None, max_length=64, description="Only this rule's runs.")
    before_id: int | None = Field(None, ge=1, description="Only runs older than this run id (paging).")
    limit: int = Field(100, ge=1, le=1000, description="At most this many, newest first.")


@router.method(scope=CameraScope.CAMERAS, role=Role.VIEWER)
async def list_rule_runs(api: EventsApi, ctx: CallContext, params: ListRuleRunsParams) -> list[RuleRun]:
    """Rule executions with their outcome and each action's result, newest first. With a camera scope:
    runs of the rules you may see, on your cameras (M1)."""
    scope = ctx.scope
    if scope.unrestricted:
        return await api.events.rule_runs(params.rule, params.limit, params.before_id)
    visible = [r.id for r in api.events.rules.all() if visible_to(r, scope)]
    return await api.events.rule_runs(
        params.rule, params.limit, params.before_id, rule_ids=visible, cameras=scope.camera_ids
    )


class ActionTypeInfo(BaseModel):
    type: str
    params_schema: dict[str, object] = Field(description="JSON Schema of the action's params.")


@router.method(role=Role.VIEWER)
async def list_rule_action_types(ctx: CallContext) -> list[ActionTypeInfo]:
    """The action types rules can use (built-in and registered by other domains), with their params schema."""
    return [
        ActionTypeInfo(type=name, params_schema=t.params_model.model_json_schema())
        for name, t in sorted(action_types().items())
    ]
