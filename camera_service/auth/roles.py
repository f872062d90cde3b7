"""Roles, ordered: a higher role may do everything a lower one may."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    PUBLIC = 0  # callable before authenticating (ping, authenticate, rpc.discover)
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()
