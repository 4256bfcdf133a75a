"""What every sandbox HTML page shares: a CSRF token in the Flask session, and headers (CSP without
inline scripts, no caching of sign-in pages, framing only by the sandbox itself).
"""
from __future__ import annotations

import hmac
import secrets
from typing import Iterable
from urllib.parse import urlsplit

from flask import Response, request, session

CSRF_KEY = "sandbox_csrf"
CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(32)
    return str(session[CSRF_KEY])


def csrf_valid() -> bool:
    """True when the posted form carries this session's token."""
    expected = session.get(CSRF_KEY)
    sent = request.form.get(CSRF_FIELD, "")
    return bool(expected) and hmac.compare_digest(str(expected).encode(), sent.encode())


def origins(urls: Iterable[str]) -> list[str]:
    """`scheme://host[:port]` of each URL, once each, in order."""
    seen: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("http", "https") and origin not in seen:
            seen.append(origin)
    return seen


def secure_page(response: Response, frame_origins: Iterable[str] = ()) -> Response:
    """Add the page headers; `frame_origins` are the apps an EHR view may show in its iframe."""
    frames = " ".join(["'self'", *frame_origins])
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-src {frames}; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
