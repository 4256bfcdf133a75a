"""The `pmd` command: `pmd demo` runs the sandbox EHR (and the app) offline on loopback; `pmd ehr …` registers
EHRs, `pmd keys …` rotates the signing keys, `pmd admin hash-password` makes an admin credential, `pmd log verify`
checks the access log's hash chain. This module only wires argparse; each command's logic lives in its own module."""
from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from typing import Sequence

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from app import log_admin, serve


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
    _ehr_commands(sub)
    _key_commands(sub)
    log_admin.add_commands(sub)
    serve.add_commands(sub)
    return parser


def _ehr_commands(sub: argparse._SubParsersAction) -> None:
    """`pmd ehr add|list|show|remove` (app/ehr_admin.py), on the instance folder of PMD_INSTANCE_PATH."""
    from app import ehr_admin

    p_ehr = sub.add_parser("ehr", help="register the EHRs (SMART issuers) the app may be launched from")
    ehr = p_ehr.add_subparsers(dest="ehr_command", required=True)
    p_add = ehr.add_parser("add", help="register an EHR; its SMART configuration is checked first")
    where = p_add.add_mutually_exclusive_group(required=True)
    where.add_argument("--iss", help="the EHR's FHIR base URL, exactly as it sends it as iss")
    where.add_argument("--iss-prefix", metavar="URL", help="register every issuer under this URL prefix")
    p_add.add_argument("--probe-iss", metavar="URL", help="with --iss-prefix: a full issuer under it to check")
    p_add.add_argument("--client-id", required=True, help="the client id the EHR assigned to the app")
    p_add.add_argument("--auth", required=True, help="private_key_jwt | client_secret | public")
    p_add.add_argument("--secret-env", metavar="NAME", help="client_secret: NAME of the variable holding the secret")
    p_add.add_argument("--secret", help=argparse.SUPPRESS)
    p_add.add_argument("--client-secret", help=argparse.SUPPRESS)
    p_add.add_argument("--signing-alg", default="RS384", help="private_key_jwt: RS384 (default) or ES384")
    p_add.add_argument("--frame-origin", action="append", metavar="ORIGIN", help="origin that frames the app (repeat)")
    p_add.add_argument("--measurements", default="ehr", help="ehr (default) | national")
    p_add.add_argument("--store-url", metavar="URL", help="with --measurements national: the store's FHIR base")
    p_add.add_argument("--name", help="a name for people (default: the issuer's host)")
    p_add.add_argument("--assume-pkce", action="store_true", help="accept a server that does not list S256")
    p_add.set_defaults(func=ehr_admin.cli_add)
    p_list = ehr.add_parser("list", help="list the registered EHRs (config/ehrs.toml and stored)")
    p_list.add_argument("--json", action="store_true", help="as JSON")
    p_list.set_defaults(func=ehr_admin.cli_list)
    p_show = ehr.add_parser("show", help="show the registration that applies to an issuer")
    p_show.add_argument("iss")
    p_show.set_defaults(func=ehr_admin.cli_show)
    p_remove = ehr.add_parser("remove", help="remove a stored registration (by issuer or prefix)")
    p_remove.add_argument("iss")
    p_remove.set_defaults(func=ehr_admin.cli_remove)


def _key_commands(sub: argparse._SubParsersAction) -> None:
    """`pmd keys rotate|list` (app/keys_admin.py) and `pmd admin hash-password` (app/admin_auth.py)."""
    from app import admin_auth, keys_admin

    p_keys = sub.add_parser("keys", help="the app's signing keys (published at /.well-known/jwks.json)")
    keys = p_keys.add_subparsers(dest="keys_command", required=True)
    keys.add_parser("rotate", help="a new key signs from now on; the old one stays published for the grace period"
                    ).set_defaults(func=keys_admin.cli_rotate)
    keys.add_parser("list", help="the keys and their state").set_defaults(func=keys_admin.cli_list)
    p_admin = sub.add_parser("admin", help="the admin page's credentials")
    admin = p_admin.add_subparsers(dest="admin_command", required=True)
    p_hash = admin.add_parser("hash-password", help="print a name=hash entry for PMD_ADMIN_USERS (asks the password)")
    p_hash.add_argument("name")
    p_hash.set_defaults(func=admin_auth.cli_hash_password)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
