"""SQL of API-managed rules and of rule runs."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from camera_service.events.rules.models import ActionOutcome, Rule, RuleRun, RuleSource, RunOutcome

RULES_DDL = """
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE rule_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    camera TEXT,
    time REAL NOT NULL,
    outcome TEXT NOT NULL,
    actions TEXT NOT NULL
);
CREATE INDEX rule_runs_rule ON rule_runs(rule_id, id)
"""


class RuleStore:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def all(self) -> list[Rule]:
        rows = await self.db.fetch_all("SELECT * FROM rules ORDER BY created_at")
        return [
            Rule(
                **json.loads(r["spec"]),
                id=r["id"],
                source=RuleSource.API,
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    async def upsert(self, rule: Rule) -> None:
        spec = rule.model_dump(mode="json", exclude={"id", "source", "created_at", "updated_at"})
        await self.db.execute(
            "INSERT INTO rules(id, spec, created_at, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET spec=excluded.spec, updated_at=excluded.updated_at",
            (rule.id, json.dumps(spec), rule.created_at, rule.updated_at),
        )

    async def delete(self, rule_id: str) -> bool:
        return bool(await self.db.execute("DELETE FROM rules WHERE id=?", (rule_id,)))

    async def add_run(
        self,
        *,
        rule_id: str,
        event_id: str,
        event_type: str,
        camera: str | None,
        time: float,
        outcome: RunOutcome,
        actions: list[ActionOutcome],
    ) -> int:
        async with self.db.tx() as tx:
            row = await tx.fetch_one(
                "INSERT INTO rule_runs(rule_id, event_id, event_type, camera, time, outcome, actions) "
                "VALUES (?,?,?,?,?,?,?) RETURNING id",
                (
                    rule_id,
                    event_id,
                    event_type,
                    camera,
                    time,
                    outcome.value,
                    json.dumps([a.model_dump(mode="json") for a in actions]),
                ),
            )
        return int(row[0]) if row else 0

    async def runs(
        self,
        rule_id: str | None,
        limit: int,
        before_id: int | None,
        *,
        rule_ids: Collection[str] | None = None,
        cameras: Collection[str] | None = None,
    ) -> list[RuleRun]:
        """Newest first; `rule_ids`/`cameras` (None: any) limit the page itself (a caller's scope)."""
        where: list[str] = []
        args: list[Any] = []
        for column, values in (("rule_id", rule_ids), ("camera", cameras)):
            if values is not None:
                where.append(f"{column} IN ({','.join('?' * len(values))})" if values else "1=0")
                args.extend(sorted(values))
        if rule_id:
            where.append("rule_id=?")
            args.append(rule_id)
        if before_id is not None:
            where.append("id<?")
            args.append(before_id)
        # only fixed condition strings are joined; values are bound parameters
        sql = "SELECT * FROM rule_runs" + (" WHERE " + " AND ".join(where) if where else "")  # noqa: S608
        rows = await self.db.fetch_all(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])
        return [
            RuleRun(
                id=r["id"],
                rule_id=r["rule_id"],
                event_id=r["event_id"],
                event_type=r["event_type"],
                camera=r["camera"],
                time=r["time"],
                outcome=RunOutcome(r["outcome"]),
                actions=[ActionOutcome(**a) for a in json.loads(r["actions"])],
            )
            for r in rows
        ]

    async def prune_runs(self, keep: int) -> int:
        return int(
            await self.db.execute(
                "DELETE FROM rule_runs WHERE id <= "
                "(SELECT id FROM rule_runs ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (keep,),
            )
        )
