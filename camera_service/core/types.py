"""Value types shared by several domains: validated strings and the JSON type aliases."""

from __future__ import annotations

from typing import Annotated, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator
from pydantic import JsonValue as PydanticJsonValue


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
"""An IANA time zone name (e.g. Europe/Berlin), checked against the zone database."""


JsonValue: TypeAlias = PydanticJsonValue
"""Any JSON value (decoded, or ready to encode): None, bool, int, float, str, list, dict[str, ...]."""

JsonObject: TypeAlias = dict[str, JsonValue]
"""A JSON object: a JSON-RPC envelope, params, a MediaMTX config document, a webhook body."""
