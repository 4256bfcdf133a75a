"""Security headers on every response of the app.

CSP without inline scripts; `frame-ancestors` allows exactly the origins registered for the EHR that launched
the request's launch (or that is launching it), and none before a launch; no referrer; HSTS on https.
"""
from __future__ import annotations

from flask import Flask, Response, request, session

from smart.client import current_client
from smart.context import launched_issuer
from smart.launch import PENDING_KEY


def _launching_issuer() -> str | None:
    """The issuer of the request's launch (by its handle), of the launch being started, or of the sign-in being
    finished."""
    launched = launched_issuer()
    if launched:
        return launched
    if request.endpoint == "launch.launch":
        return request.args.get("iss")
    state = request.args.get("state")
    pending = (session.get(PENDING_KEY) or {}) if session else {}
    if state and state in pending:
        return pending[state].get("iss")
    return None


def frame_ancestors() -> str:
    """CSP frame-ancestors (CSP Level 2 §7.7.3): the launching EHR's registered origins, else 'none'."""
    iss = _launching_issuer()
    registration = current_client().registry.find(iss) if iss else None
    origins = registration.frame_origins if registration else ()
    return " ".join(origins) if origins else "'none'"


def _headers(response: Response) -> Response:
    # Styles allow 'unsafe-inline' because plotly.js applies inline styles to its SVG (a browser test shows the
    # violations without it); scripts stay 'self' only: no inline script, no eval.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors()}"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"  # pages carry personal data; assets set their own caching
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
