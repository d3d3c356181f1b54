"""The server process that `keyvend serve` execs: bind the socket, say so, serve.

The socket is bound here, before any worker starts, so "listening" is printed only once it
is true, and a port that is taken (or an address that is not this machine's) ends the start
with one line naming the setting. The app itself is built in each worker by
`keyvend.app:app_from_env`, on uvicorn's fastest stack (httptools + uvloop) with Keyvend's
guarded HTTP protocol (`keyvend.edge.http_protocol`). This process also runs the one
background worker of the serve (`keyvend.worker`, the renewal and dunning jobs), whether it
serves itself or supervises several workers; it stops when serving ends.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.supervisors import Multiprocess

if TYPE_CHECKING:
    from keyvend.worker import Worker

STARTUP_ERROR = 2


def config(*, host: str, port: int, workers: int, log_level: str) -> uvicorn.Config:
    """uvicorn's settings for the app factory."""
    return uvicorn.Config(
        "keyvend.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        # httptools, with a cap on request heads, a time limit for them and a cap on
        # connections per client address (slowloris).
        http="keyvend.edge.http_protocol:GuardedHttpTools",
        loop="uvloop",
        # The app wraps itself in uvicorn's proxy-headers layer for trusted_proxies
        # (keyvend.edge.client_address); uvicorn's own would trust 127.0.0.1 on top.
        proxy_headers=False,
        server_header=False,
    )


def start_worker() -> Worker | None:
    """The serve's one background worker, started (None when KEYVEND_WORKER_INTERVAL is 0)."""
    # Imported only now that the socket listens: the app's modules take a second to load,
    # and meanwhile connections wait in the backlog instead of being refused.
    from keyvend import worker
    from keyvend.config import Settings
    from keyvend.observability.logs import configure_logging

    settings = Settings()
    configure_logging(settings)  # the worker's lines look like the app's
    return worker.start(settings)


def main(argv: list[str] | None = None) -> None:
    """Bind, print that Keyvend listens, and serve until stopped."""
    parser = argparse.ArgumentParser(prog="keyvend-serving")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = config(
        host=args.host, port=args.port, workers=args.workers, log_level=args.log_level
    )
    try:
        sock = settings.bind_socket()
    except SystemExit:  # uvicorn has logged the OSError; say which setting to change
        print(
            f"Error: KEYVEND_HOST / KEYVEND_PORT: cannot listen on {args.host}:{args.port}",
            file=sys.stderr,
        )
        sys.exit(STARTUP_ERROR)
    # Listening from now on: connections wait in the backlog while the workers load the app.
    sock.listen(settings.backlog)
    url = f"http://{args.host}:{args.port}"
    if args.json:  # stdout holds serve's one JSON object: this line goes to stderr
        print(json.dumps({"listening": url}), file=sys.stderr, flush=True)
    else:
        print(f"Keyvend listening on {url}", flush=True)
    server = uvicorn.Server(settings)
    background = start_worker()
    try:
        if args.workers > 1:
            Multiprocess(settings, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    finally:
        if background is not None:
            background.stop()
    if not server.started and args.workers == 1:
        sys.exit(STARTUP_ERROR)


if __name__ == "__main__":
    main()
