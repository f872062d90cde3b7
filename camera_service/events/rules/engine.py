"""The rule engine: matches each event against the enabled rules, applies the cooldown, runs the
actions (concurrently, each isolated) and records the run with every action's outcome."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Iterable

from pydantic import ValidationError

from camera_service.auth.scopes import Scope, ScopedCamera
from camera_service.core.bus import Event
from camera_service.core.clock import Clock
from camera_service.core.tasks import TaskSet
from camera_service.events.metrics import EventMetrics
from camera_service.events.rules.actions import ActionContext, action_types, params_error, validate_action
from camera_service.events.rules.models import (
    ActionOutcome,
    ConfigRule,
    Rule,
    RuleAction,
    RuleOwner,
    RuleSource,
    RuleSpec,
    RunOutcome,
)
from camera_service.events.rules.scope import run_scope
from camera_service.events.rules.store import RuleStore

log = logging.getLogger("camera_service.events.rules")


class RuleValidationError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_actions(actions: list[RuleAction]) -> None:
    """Every action must be a registered type with valid params (checked when a rule is saved)."""
    known = action_types()
    for i, action in enumerate(actions):
        if action.type not in known:
            raise RuleValidationError(
                f"actions.{i}.type",
                f"unknown action type {action.type!r} (known: {', '.join(sorted(known))})",
            )
        try:
            validate_action(action.type, action.params)
        except ValidationError as exc:
            raise RuleValidationError(f"actions.{i}.params", params_error(exc)) from exc


class RuleEngine:
    def __init__(
        self,
        store: RuleStore,
        clock: Clock,
        metrics: EventMetrics,
        config_rules: list[ConfigRule],
        *,
        context: Callable[[Rule, Event, Scope | None], ActionContext] | None = None,
        cameras: Callable[[], Iterable[ScopedCamera]] = list,
        changed: Callable[[], None] | None = None,
    ) -> None:
        """`context` builds what an action run gets (the events component passes its RuleDeps); an
        engine without one validates and matches rules but cannot run them (unit tests). `cameras`
        lists the cameras a rule owner's scope is resolved against (security H3)."""
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self._config_rules = config_rules
        self._rules: dict[str, Rule] = {}
        self._last_fired: dict[tuple[str, str | None], float] = {}
        self._tasks = TaskSet("rules")
        self._context = context
        self._cameras = cameras
        self._changed = changed or (lambda: None)  # scale-out: the other instances re-read the rules

    def scope_of(self, rule: Rule) -> Scope | None:
        """The camera scope `rule` acts in (its owner's, resolved now); None: unrestricted."""
        return run_scope(rule, self._cameras()) if rule.owner is not None else None

    async def load(self) -> None:
        now = self.clock.time()
        rules: dict[str, Rule] = {}
        for cr in self._config_rules:
            check_actions(cr.actions)  # a bad config rule stops start-up, naming it
            rules[cr.id] = Rule(**cr.model_dump(), source=RuleSource.CONFIG, created_at=now, updated_at=now)
        for rule in await self.store.all():
            if rule.id in rules:
                log.warning("stored rule shadowed by a config rule", extra={"rule": rule.id})
                continue
            rules[rule.id] = rule
        self._rules = rules

    # --- management ---
    def all(self) -> list[Rule]:
        return list(self._rules.values())

    def get(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id)

    async def add(self, spec: RuleSpec, owner: RuleOwner | None = None) -> Rule:
        check_actions(spec.actions)
        now = self.clock.time()
        rule = Rule(
            **spec.model_dump(),
            owner=owner,
            id="rule_" + secrets.token_hex(6),
            source=RuleSource.API,
            created_at=now,
            updated_at=now,
        )
        await self.store.upsert(rule)
        self._rules[rule.id] = rule
        self._changed()
        return rule

    async def replace(self, rule: Rule, spec: RuleSpec) -> Rule:
        check_actions(spec.actions)
        updated = Rule(
            **spec.model_dump(),
            id=rule.id,
            owner=rule.owner,  # a rule keeps acting as whoever made it
            source=rule.source,
            created_at=rule.created_at,
            updated_at=self.clock.time(),
        )
        await self.store.upsert(updated)
        self._rules[rule.id] = updated
        self._changed()
        return updated

    async def remove(self, rule_id: str) -> None:
        await self.store.delete(rule_id)
        self._rules.pop(rule_id, None)
        self._changed()
        for key in [k for k in self._last_fired if k[0] == rule_id]:
            del self._last_fired[key]

    # --- evaluation ---
    def matching(self, event: Event) -> list[Rule]:
        """Rules that fire for `event` now; claims their cooldown slot (so call once per event)."""
        fired = []
        now = self.clock.monotonic()
        for rule in self._rules.values():
            if not rule.enabled or event.data.get("rule_id") == rule.id:
                continue  # a rule never re-triggers itself through its own notify event
            if event.type.startswith("rule.") and not any(t.startswith("rule.") for t in rule.trigger.topics):
                continue  # wildcards do not pick up rule notifications (no rule loops)
            if not rule.trigger.matches(event):
                continue
            scope = self.scope_of(rule)
            if scope is not None and not scope.sees_id(event.camera):
                continue  # security H3: never fires for a camera its owner cannot see
            key = (rule.id, event.camera)
            last = self._last_fired.get(key)
            if last is not None and rule.trigger.cooldown_s > 0 and now - last < rule.trigger.cooldown_s:
                self.metrics.rule_runs.labels("suppressed").inc()
                continue
            self._last_fired[key] = now
            fired.append(rule)
        return fired

    def on_event(self, event: Event) -> None:
        for rule in self.matching(event):
            self._tasks.spawn(self.run(rule, event), name=f"rule-{rule.id}")

    async def run(self, rule: Rule, event: Event) -> RunOutcome:
        if self._context is None:
            raise RuntimeError("this rule engine was built without an action context")
        ctx = self._context(rule, event, self.scope_of(rule))
        outcomes = await asyncio.gather(*(self._run_action(ctx, a) for a in rule.actions))
        ok = sum(o.ok for o in outcomes)
        outcome = (
            RunOutcome.OK if ok == len(outcomes) else RunOutcome.FAILED if ok == 0 else RunOutcome.PARTIAL
        )
        await self.store.add_run(
            rule_id=rule.id,
            event_id=event.id,
            event_type=event.type,
            camera=event.camera,
            time=self.clock.time(),
            outcome=outcome,
            actions=list(outcomes),
        )
        self.metrics.rule_runs.labels(outcome.value).inc()
        log.info("rule fired", extra={"rule": rule.id, "event_id": event.id, "outcome": outcome.value})
        return outcome

    async def _run_action(self, ctx: ActionContext, action: RuleAction) -> ActionOutcome:
        started = time.perf_counter()
        kind = action_types().get(action.type)
        try:
            if kind is None:
                raise RuntimeError(f"action type {action.type!r} is no longer registered")
            result = await kind.handler(ctx, validate_action(action.type, action.params))
            return ActionOutcome(
                type=action.type,
                ok=True,
                result=result,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            log.warning(
                "rule action failed", extra={"rule": ctx.rule.id, "action": action.type, "error": message}
            )
            return ActionOutcome(
                type=action.type,
                ok=False,
                error=message,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def stop(self) -> None:
        await self._tasks.close()
