"""The stack's floor: a bare quart-trio + httpx2 proxy on hypercorn's trio worker.

Relays ``POST /<path>`` to the upstream's same path, streaming the answer back as it comes.
No parsing, no translation, no storage: what any gateway on this stack pays at least.
Run: ``python -m bench.floor --upstream http://127.0.0.1:9100 --port 9200``.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from functools import partial

import httpx2
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio


def create_app(upstream: str, max_connections: int) -> QuartTrio:
    app = QuartTrio("floor")
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    limits = httpx2.Limits(max_connections=max_connections,
                           max_keepalive_connections=max_connections)
    client = httpx2.AsyncClient(base_url=upstream, limits=limits, timeout=600)

    @app.post("/<path:path>")
    async def proxy(path: str) -> Response:
        body = await request.get_data(cache=False)
        sent = client.build_request("POST", "/" + path, content=body,
                                    headers={"content-type": "application/json"})
        answer = await client.send(sent, stream=True)
        kind = answer.headers.get("content-type", "application/json")
        if not kind.startswith("text/event-stream"):
            try:
                return Response(await answer.aread(), answer.status_code, content_type=kind)
            finally:
                await answer.aclose()

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in answer.aiter_raw():
                    yield chunk
            finally:
                await answer.aclose()

        response = Response(relay(), answer.status_code, content_type=kind)
        response.timeout = None
        return response

    @app.get("/health")
    async def health() -> Response:
        return Response(b"ok")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--max-connections", type=int, default=1024)
    args = parser.parse_args()
    config = Config()
    config.bind = [f"{args.host}:{args.port}"]
    config.accesslog = None
    config.keep_alive_timeout = 75
    config.graceful_timeout = 1
    trio.run(partial(serve, create_app(args.upstream, args.max_connections), config))


if __name__ == "__main__":
    main()
