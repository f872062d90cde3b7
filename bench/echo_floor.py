"""The floor: a bare `websockets` JSON-RPC server answering ping. What any Python WebSocket server pays."""

from __future__ import annotations

import argparse
import asyncio
import json

from websockets.asyncio.server import ServerConnection, serve


async def handler(ws: ServerConnection) -> None:
    async for raw in ws:
        msg = json.loads(raw)
        await ws.send(json.dumps({"jsonrpc": "2.0", "result": "pong", "id": msg.get("id")}))


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=1 << 20, compression=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
