"""A Redis Stream as an append-only, trimmed, replayable log (the transport of shared events).

`XADD ... MAXLEN ~ n` bounds the stream (approximate trimming is O(1) amortised); readers keep their own
cursor and `XREAD BLOCK` after it, so a reader that reconnects continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class RedisStreamTransport:
    def __init__(self, redis: Any, key: str, maxlen: int) -> None:
        """`redis` is a `redis.asyncio.Redis` (typed loosely: its stubs are generic over the
        decode_responses flag; ids and fields come back as bytes or str and both are handled)."""
        self.redis = redis
        self.key = key
        self.maxlen = maxlen

    async def close(self) -> None:
        await self.redis.aclose()

    async def last_id(self) -> str:
        newest = await self.redis.xrevrange(self.key, count=1)
        return _text(newest[0][0]) if newest else "0-0"

    async def append(self, entries: Sequence[Mapping[str, bytes]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for fields in entries:
                pipe.xadd(self.key, dict(fields), maxlen=self.maxlen, approximate=True)
            await pipe.execute()

    async def read(self, after: str, *, block_ms: int, count: int) -> list[tuple[str, Mapping[Any, Any]]]:
        reply = await self.redis.xread({self.key: after}, count=count, block=block_ms)
        out: list[tuple[str, Mapping[Any, Any]]] = []
        for _stream, items in reply or []:
            out.extend((_text(entry_id), fields) for entry_id, fields in items)
        return out


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
