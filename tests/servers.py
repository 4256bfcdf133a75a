"""Real HTTP servers on loopback for the tests: a WSGI app in a thread, on a free port."""
from __future__ import annotations

import threading
from typing import Callable

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


class LiveServer:
    """A threaded werkzeug server; `url` is the public origin the app was built for."""

    def __init__(self, build: Callable[[str], Flask], host: str = "127.0.0.1", public_host: str | None = None):
        self._server: BaseWSGIServer = make_server(host, 0, Flask("placeholder"), threaded=True)
        self.port = self._server.server_port
        self.url = f"http://{public_host or host}:{self.port}"
        self.app = build(self.url)
        self._server.app = self.app
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
