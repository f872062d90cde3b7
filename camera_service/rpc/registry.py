"""Method registry: the one place where the API contract lives.

A method is an async function `(api: DomainApi, ctx: CallContext, params: ParamsModel) -> Result`
registered with the role it needs. `api` is the domain's methods object: a small frozen dataclass of the
typed dependencies its handlers use (e.g. `cameras.methods.CameraApi`). Registries hold the handlers
UNBOUND, so the OpenRPC document and the Markdown reference are generated from annotations alone,
without a running app; the composition root (app.py) binds each domain's api object once
(`registry.bind(...)`), and only a bound registry is served. Params and result types come from the
annotations, so the docs cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter, field_validator

from camera_service.auth.roles import Role
from camera_service.rpc.context import CallContext
from camera_service.rpc.errors import ErrorCode
from camera_service.rpc.scope import CameraScope

Handler = Callable[..., Awaitable[object]]  # (api?, ctx, params?) -> the result model
H = TypeVar("H", bound=Handler)


_INT64 = 1 << 63


class Params(BaseModel):
    """Base of every params model: unknown fields are rejected with -32602, and so are integers the
    database cannot hold (security L6: 2**63 in an offset or id was an internal error)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _int64(cls, v: object) -> object:
        if isinstance(v, int) and not isinstance(v, bool) and not -_INT64 <= v < _INT64:
            raise ValueError("integer out of range (64-bit signed)")
        return v


class NoParams(Params):
    """The method takes no parameters."""


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    handler: Handler
    params_model: type[BaseModel]
    result_type: object  # the handler's return annotation, a type expression
    result_adapter: TypeAdapter[Any]
    role: Role
    scope: CameraScope  # what the caller's camera scope limits (enforced by the guard / store queries)
    summary: str
    description: str
    errors: tuple[ErrorCode, ...]
    tags: tuple[str, ...]
    mutating: bool  # state-changing: audited
    compat: bool  # alias of the established MediaMTX Camera Service protocol
    takes_params: bool
    positional_fields: tuple[str, ...]
    api_type: type | None = None  # the handler's first parameter: the domain's methods object
    api: object | None = None  # set by MethodRegistry.bind at composition time


@dataclass(frozen=True, slots=True)
class NotificationSpec:
    name: str
    params_model: type[BaseModel]
    summary: str
    compat: bool


def _with_implied(errors: tuple[ErrorCode, ...], scope: CameraScope) -> tuple[ErrorCode, ...]:
    """The declared errors plus those a declaration implies: the guard answers -32003 to a scoped
    caller of an UNRESTRICTED method."""
    if scope is CameraScope.UNRESTRICTED and ErrorCode.PERMISSION_DENIED not in errors:
        return (*errors, ErrorCode.PERMISSION_DENIED)
    return errors


class MethodRegistry:
    """Methods and server-to-client notifications of one domain, or of the whole API once merged."""

    def __init__(self, tag: str = "") -> None:
        self.tag = tag
        self._methods: dict[str, MethodSpec] = {}
        self._notifications: dict[str, NotificationSpec] = {}

    def method(
        self,
        name: str | None = None,
        *,
        role: Role,
        scope: CameraScope = CameraScope.NONE,
        summary: str | None = None,
        errors: tuple[ErrorCode, ...] = (),
        mutating: bool = False,
        compat: bool = False,
        tags: tuple[str, ...] = (),
    ) -> Callable[[H], H]:
        """Register `fn` under `name`. `role` is required: every method declares who may call it."""

        def decorate(fn: H) -> H:
            method_name = name or fn.__name__
            hints = get_type_hints(fn)
            args = list(inspect.signature(fn).parameters)
            api_type: type | None = None
            if args and hints.get(args[0]) is not CallContext:
                api_type = hints.get(args[0])
                if not isinstance(api_type, type):
                    raise TypeError(f"{method_name}: annotate the methods object (first parameter)")
                args = args[1:]
            if not args or len(args) > 2 or hints.get(args[0]) is not CallContext:
                raise TypeError(f"{method_name}: handler must be ([api,] ctx) or ([api,] ctx, params)")
            takes_params = len(args) == 2
            params_model: type[BaseModel] = hints[args[1]] if takes_params else NoParams
            if not (isinstance(params_model, type) and issubclass(params_model, BaseModel)):
                raise TypeError(f"{method_name}: params must be annotated with a pydantic model")
            if params_model.model_config.get("extra") != "forbid":
                raise TypeError(f"{method_name}: params model must forbid extra fields (use rpc.Params)")
            if "return" not in hints:
                raise TypeError(f"{method_name}: the result type must be annotated")
            doc = inspect.getdoc(fn) or ""
            first, _, rest = doc.partition("\n")
            self._add(
                MethodSpec(
                    name=method_name,
                    handler=fn,
                    params_model=params_model,
                    result_type=hints["return"],
                    result_adapter=TypeAdapter(hints["return"]),
                    role=role,
                    scope=scope,
                    summary=summary or first.strip(),
                    description=rest.strip(),
                    errors=_with_implied(errors, scope),
                    tags=tags or ((self.tag,) if self.tag else ()),
                    mutating=mutating,
                    compat=compat,
                    takes_params=takes_params,
                    positional_fields=tuple(params_model.model_fields),
                    api_type=api_type,
                )
            )
            return fn

        return decorate

    def notification(
        self, name: str, params_model: type[BaseModel], summary: str, *, compat: bool = False
    ) -> None:
        if name in self._notifications:
            raise ValueError(f"notification {name} registered twice")
        self._notifications[name] = NotificationSpec(name, params_model, summary, compat)

    def include(self, other: MethodRegistry) -> None:
        for spec in other._methods.values():
            self._add(spec)
        for note in other._notifications.values():
            self.notification(note.name, note.params_model, note.summary, compat=note.compat)

    def bind(self, *apis: object) -> MethodRegistry:
        """A copy whose handlers are bound to their domain's methods object (composition time). Every
        handler that takes one must find exactly its type among `apis`: a missing one is a wiring bug."""
        bound = MethodRegistry(self.tag)
        bound._notifications = dict(self._notifications)
        for spec in self._methods.values():
            if spec.api_type is None:
                bound._add(spec)
                continue
            api = next((a for a in apis if type(a) is spec.api_type), None)
            if api is None:
                raise TypeError(f"{spec.name}: no {spec.api_type.__name__} given to bind()")
            bound._add(dataclasses.replace(spec, api=api))
        return bound

    def _add(self, spec: MethodSpec) -> None:
        if spec.name in self._methods:
            raise ValueError(f"method {spec.name} registered twice")
        self._methods[spec.name] = spec

    def get(self, name: str) -> MethodSpec | None:
        return self._methods.get(name)

    def __iter__(self) -> Iterator[MethodSpec]:
        return iter(sorted(self._methods.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._methods)

    @property
    def notifications(self) -> list[NotificationSpec]:
        return sorted(self._notifications.values(), key=lambda n: n.name)

    def contract_key(self) -> tuple[Hashable, ...]:
        """What this registry describes, comparable and hashable: two registries with the same methods
        and notifications have equal keys whether or not they are bound (`api` is left out; a handler
        stands for its params and result types, which its annotations fix)."""
        methods = tuple(
            (
                s.name,
                s.handler,
                s.role,
                s.scope,
                s.summary,
                s.description,
                s.errors,
                s.tags,
                s.mutating,
                s.compat,
            )
            for s in self
        )
        return methods, tuple(self.notifications)


async def call(spec: MethodSpec, ctx: CallContext, params: BaseModel) -> object:
    args: list[object] = [ctx, params] if spec.takes_params else [ctx]
    if spec.api_type is not None:
        if spec.api is None:
            raise RuntimeError(f"{spec.name}: the registry was not bound (MethodRegistry.bind)")
        args.insert(0, spec.api)
    return await spec.handler(*args)
