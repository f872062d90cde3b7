"""Who is calling: filled in by authentication, read by authorization and scoping."""

from __future__ import annotations

from dataclasses import dataclass, field

from camera_service.auth.roles import Role


@dataclass(frozen=True)
class Identity:
    subject: str
    role: Role
    kind: str = "jwt"  # jwt | api_key | stream | internal
    expires_at: float | None = None  # unix seconds; re-checked on every call
    cameras: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)
    tags: frozenset[str] = field(default_factory=frozenset)
    agencies: frozenset[str] = field(default_factory=frozenset)
    session_id: str = ""
    key_id: str | None = None  # API keys: revocation is re-checked on every call
    # A token that carries a scope claim is scoped even when the lists are empty: `cameras: []` means no
    # camera, never every camera (security L2).
    scope_claimed: bool = False

    @property
    def unrestricted(self) -> bool:
        return not (self.scope_claimed or self.cameras or self.groups or self.tags or self.agencies)

    def scope_dict(self) -> dict[str, list[str]]:
        return {
            name: sorted(getattr(self, name))
            for name in ("cameras", "groups", "tags", "agencies")
            if getattr(self, name)
        }


# Security disabled only: every connection carries this unrestricted identity.
ANONYMOUS = Identity(subject="anonymous", role=Role.ADMIN, kind="anonymous")
