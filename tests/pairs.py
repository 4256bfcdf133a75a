"""An app and a sandbox EHR registered with each other, on their own ports and folders, for tests that need
settings or registrations of their own (the shared `app_server` fixture stays untouched)."""
from __future__ import annotations

import io
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs

from flask import Flask

from app import create_app
from smart.sandbox import create_sandbox
from tests.servers import TEST_SECRET, LiveServer



class Recorder:
    """WSGI middleware that notes each request's method, path and form body: what went over the wire."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app, self.seen = app, []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # the app still reads the body it was sent
        form = parse_qs(body.decode("utf-8", "replace")) if environ["REQUEST_METHOD"] == "POST" else {}
        args = parse_qs(environ.get("QUERY_STRING", ""))
        self.seen.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), args, form))
        return self.app(environ, start_response)


@contextmanager
def app_pair(sandbox_db: Path, folder: Path, *, ehrs_toml: str | None = None, record: bool = False,
             **app_config: Any) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 and the sandbox EHR on localhost (a copy of `sandbox_db`), registered with each other.

    `pair.url` is the app, `pair.sandbox` the sandbox, `pair.recorder` (with `record=True`) what reached the
    sandbox. Run-time files go under `folder`; `ehrs_toml` replaces the app's EHR registrations."""
    (folder / "sandbox").mkdir(parents=True, exist_ok=True)
    (folder / "app").mkdir(parents=True, exist_ok=True)
    shutil.copy(sandbox_db, folder / "sandbox" / "sandbox.sqlite")
    if ehrs_toml is not None:
        (folder / "ehrs.toml").write_text(ehrs_toml)
        app_config["EHRS_FILE"] = str(folder / "ehrs.toml")
    servers: dict[str, LiveServer] = {}

    def build_app(app_url: str) -> Flask:
        servers["sandbox"] = LiveServer(
            lambda url: create_sandbox({"INSTANCE_PATH": str(folder / "sandbox"), "SECRET_KEY": TEST_SECRET,
                                        "SANDBOX_BASE_URL": url, "APP_BASE_URL": app_url}),
            host="127.0.0.1", public_host="localhost")
        return create_app({"INSTANCE_PATH": str(folder / "app"), "SECRET_KEY": TEST_SECRET, "APP_BASE_URL": app_url,
                           "SANDBOX_BASE_URL": servers["sandbox"].url, **app_config})

    with LiveServer(build_app, host="127.0.0.1") as app, servers["sandbox"] as sandbox:
        if record:
            recorder = Recorder(sandbox.app.wsgi_app)
            sandbox.app.wsgi_app = recorder  # type: ignore[method-assign]
            app.recorder = recorder  # type: ignore[attr-defined]
        app.sandbox = sandbox  # type: ignore[attr-defined]
        yield app


@contextmanager
def app_and_sandbox(seeded: Path, folder: Path, *, app_config: dict[str, Any] | None = None,
                    ehrs_toml: str | None = None) -> Iterator[tuple[LiveServer, LiveServer, Recorder]]:
    """Yield (app, sandbox, recorder of the sandbox's traffic)."""
    with app_pair(seeded / "sandbox.sqlite", folder, ehrs_toml=ehrs_toml, record=True, **(app_config or {})) as app:
        yield app, app.sandbox, app.recorder  # type: ignore[attr-defined]
