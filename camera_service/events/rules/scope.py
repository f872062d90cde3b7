"""Rules act with the camera scope of whoever made them (security H3, M1).

A rule records its owner (subject, role, scope claims) when it is added. At run time it only fires for
events of cameras its owner may see, and its actions only touch those cameras; webhook actions (webhooks
are system-wide objects) need an owner without a camera scope. A scoped caller sees, changes and removes
only rules made by scoped identities whose every camera it can see itself; rules from the config file,
from unscoped identities and from before owners were recorded are system rules, hidden from it.
"""

from __future__ import annotations

from collections.abc import Iterable

from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.auth.scopes import Scope, ScopedCamera
from camera_service.events.rules.models import Rule, RuleAction, RuleOwner, Trigger


def owner_of(identity: Identity | None) -> RuleOwner | None:
    if identity is None:
        return None
    return RuleOwner(
        subject=identity.subject,
        role=identity.role.label,
        cameras=sorted(identity.cameras),
        groups=sorted(identity.groups),
        tags=sorted(identity.tags),
        agencies=sorted(identity.agencies),
        scoped=not identity.unrestricted,
    )


def owner_identity(owner: RuleOwner | None) -> Identity | None:
    """The identity a rule acts as; None for system rules (unrestricted)."""
    if owner is None or not (owner.scoped or owner.cameras or owner.groups or owner.tags or owner.agencies):
        return None
    return Identity(
        subject=owner.subject,
        role=Role[owner.role.upper()],
        kind="rule",
        cameras=frozenset(owner.cameras),
        groups=frozenset(owner.groups),
        tags=frozenset(owner.tags),
        agencies=frozenset(owner.agencies),
        scope_claimed=True,
    )


def run_scope(rule: Rule, cameras: Iterable[ScopedCamera]) -> Scope | None:
    """The scope a rule's actions run in (resolved when it fires); None: unrestricted."""
    identity = owner_identity(rule.owner)
    return None if identity is None else Scope.resolve(identity, cameras)


def named_cameras(trigger: Trigger, actions: list[RuleAction]) -> set[str]:
    named = set(trigger.cameras or ())
    for action in actions:
        camera = action.params.get("camera")
        if isinstance(camera, str):
            named.add(camera)
    return named


def visible_to(rule: Rule, scope: Scope) -> bool:
    if scope.unrestricted:
        return True
    if owner_identity(rule.owner) is None or rule.trigger.cameras is None:
        return False
    return all(scope.sees_id(c) for c in named_cameras(rule.trigger, rule.actions))


def scoped_spec_problem(trigger: Trigger, actions: list[RuleAction], scope: Scope) -> tuple[str, str] | None:
    """(field, message) when a scoped caller may not save this rule; the hidden-camera case is raised by
    the caller as NOT_FOUND (scope.require_ids), like everywhere else."""
    if scope.unrestricted:
        return None
    if trigger.cameras is None:
        return "trigger.cameras", "an identity with a camera scope must list the rule's cameras"
    for i, action in enumerate(actions):
        if action.type == "webhook":
            return f"actions.{i}.type", "webhook actions need an identity without a camera scope"
    return None
