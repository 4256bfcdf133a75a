"""The vital-sign view at `/`, for the clinician launched from the EHR and for the citizen alike.

The page is a shell: its script asks `/api/vitals`, which logs the lookup before returning anything.
`/smart-style.css` turns the EHR's `smart_style_url` (SMART App Launch 2.2, "Styling") into CSS variables.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import requests
from flask import Blueprint, Response, current_app, render_template

from app import lookup
from app.citizen_text import TEXT as CITIZEN_TEXT
from app.i18n import current_lang
from smart.client import current_client
from smart.context import current_launch, request_handle, fhir_session

bp = Blueprint("clinician", __name__)

STYLE_KEYS = {"color_background": "--ehr-background", "color_error": "--warn", "color_highlight": "--accent",
              "color_modal_backdrop": "--ehr-backdrop", "color_success": "--ok", "color_text": "--ink",
              "dim_border_radius": "--radius", "font_family_body": "--font-body", "font_family_heading": "--font-heading"}
SAFE_VALUE = re.compile(r"^[#\w\s,.'\"%()-]{1,80}$")
_style_cache: dict[str, tuple[float, str]] = {}

TEXT = {
    "nb": {"title": "Vitale målinger", "range": "Tidsperiode", "days": {"7": "7 dager", "30": "30 dager",
           "90": "90 dager", "365": "1 år", "all": "Alt"}, "loading": "Henter målinger …",
           "noscript": "Siden trenger JavaScript for diagrammene. Slå på JavaScript, eller bruk tabellene via API-et.",
           "session": "Om denne økten", "patient": "Pasient-ID", "user": "Bruker", "hpr": "HPR-nummer",
           "org": "Virksomhet", "ehr": "Journalsystem", "other": "English"},
    "en": {"title": "Vital signs", "range": "Time period", "days": {"7": "7 days", "30": "30 days",
           "90": "90 days", "365": "1 year", "all": "All"}, "loading": "Loading measurements …",
           "noscript": "This page needs JavaScript for its charts. Turn JavaScript on.",
           "session": "About this session", "patient": "Patient id", "user": "User", "hpr": "HPR number",
           "org": "Organisation", "ehr": "EHR", "other": "Norsk"},
}


@bp.get("/")
def index() -> str:
    """The charts and tables of the launched patient's vital signs.

    A professional the patient has blocked gets the refusal page at once (logged), not an empty shell; a citizen
    gets the same charts plus links to their access log and blocks.
    """
    if request_handle() is None:
        return start()
    launch = current_launch()
    lang = current_lang()
    citizen = launch.user.kind == "citizen"
    if not citizen:
        lookup.check_access(fhir_session(), launch)
    return render_template("clinician.html", launch=launch, lang=lang, t=TEXT[lang], citizen=citizen,
                           nav=CITIZEN_TEXT[lang] if citizen else None, other_lang="en" if lang == "nb" else "nb")


def start() -> str:
    """Where a visitor without a launch begins: professionals from their EHR, citizens by signing in at one of
    the registered EHRs (a standalone launch, SMART App Launch 2.2 "Standalone Launch")."""
    lang = current_lang()
    ehrs = [r for r in current_client().registry.all() if r.match == "exact"]
    return render_template("start.html", lang=lang, ehrs=ehrs, other_lang="en" if lang == "nb" else "nb")


@bp.get("/smart-style.css")
def smart_style() -> Response:
    """The EHR's style as CSS custom properties; only known keys and plain values pass (no CSS injection)."""
    launch = current_launch()
    url = launch.smart_style_url or ""
    css = _style_css(url) if _origin(url) == _origin(launch.registration.issuer) else ""
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _origin(url: str) -> tuple[str, str]:
    """Only the registered EHR's own origin is ever contacted for its style."""
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _style_css(url: str) -> str:
    cached = _style_cache.get(url)
    if cached and time.monotonic() - cached[0] < 300:
        return cached[1]
    try:
        style = requests.get(url, timeout=current_app.config.get("HTTP_TIMEOUT", 10)).json()
    except (requests.RequestException, ValueError):
        return ""
    lines = [f"  {STYLE_KEYS[k]}: {v};" for k, v in (style.items() if isinstance(style, dict) else [])
             if k in STYLE_KEYS and isinstance(v, (str, int, float)) and SAFE_VALUE.match(str(v))]
    css = ":root {\n" + "\n".join(lines) + "\n}\n" if lines else ""
    _style_cache[url] = (time.monotonic(), css)
    return css
