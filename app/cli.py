"""The `pmd` command: `pmd demo` runs the sandbox EHR (and the app) offline on loopback."""
from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from typing import Sequence

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server


def _check_free(port: int, flag: str) -> None:
    """Fail early with the option to change (werkzeug would print its own advice and exit)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise OSError(f"port {port} is in use ({exc.strerror}); choose another with {flag} N") from exc


def _serve(app: Flask, port: int) -> BaseWSGIServer:
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name=f"serve-{port}", daemon=True).start()
    return server


def demo(args: argparse.Namespace) -> int:
    """Run the sandbox EHR on http://localhost:<sandbox-port> and the app on http://127.0.0.1:<app-port>."""
    from smart.sandbox import create_sandbox

    sandbox_url = f"http://localhost:{args.sandbox_port}"
    app_url = f"http://127.0.0.1:{args.app_port}"
    try:
        _check_free(args.sandbox_port, "--sandbox-port")
        _check_free(args.app_port, "--app-port")
    except OSError as exc:
        print(f"Cannot start: {exc}.", file=sys.stderr)
        return 2
    print("Starting the SMART sandbox EHR (synthetic data is generated at first run)…", flush=True)
    sandbox = create_sandbox({"SANDBOX_BASE_URL": sandbox_url, "APP_BASE_URL": app_url})
    app = _app_or_none(sandbox_url, app_url)
    servers: list[BaseWSGIServer] = []
    try:
        servers.append(_serve(sandbox, args.sandbox_port))
        if app is not None:
            servers.append(_serve(app, args.app_port))
    except OSError as exc:
        for server in servers:
            server.shutdown()
        print(f"Cannot listen: {exc}. Pick free ports with --app-port N --sandbox-port M.", file=sys.stderr)
        return 2
    print(f"Sandbox EHR:  {sandbox_url}/   (open this: pick a patient and launch the app)", flush=True)
    print(f"FHIR base:    {sandbox_url}/fhir", flush=True)
    if app is not None:
        print(f"App:          {app_url}/   (launched from the EHR; or {app_url}/launch?iss={sandbox_url}/fhir)", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
    print("Stopped.", flush=True)
    return 0


def _app_or_none(sandbox_url: str, app_url: str) -> Flask | None:
    """The app, once it exists; until then the sandbox runs alone."""
    try:
        from app import create_app  # type: ignore[attr-defined]
    except ImportError:
        return None
    return create_app({"APP_BASE_URL": app_url, "SANDBOX_BASE_URL": sandbox_url})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pmd", description="Pasientens måledata")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="run the sandbox EHR and the app with synthetic data")
    p_demo.add_argument("--app-port", type=int, default=8000, help="port of the app (default 8000)")
    p_demo.add_argument("--sandbox-port", type=int, default=8001, help="port of the sandbox EHR (default 8001)")
    p_demo.set_defaults(func=demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
