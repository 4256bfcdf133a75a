"""Static assets served under names that carry their content hash, so they can be cached for a year.

plotly.js comes from the installed plotly package (no CDN at run time); our own files from `static/`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import plotly
from flask import Flask, send_file
from werkzeug.wrappers import Response

STATIC = Path(__file__).resolve().parent.parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
ONE_YEAR = 365 * 24 * 3600


class Assets:
    """Maps logical names (`vitals.js`) to versioned URLs (`/assets/vitals.3f2a9c1d.js`) and serves them."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        self.urls: dict[str, str] = {}

    def init_app(self, app: Flask) -> None:
        sources = {p.name: p for p in sorted(STATIC.iterdir()) if p.is_file()}
        sources["plotly.js"] = PLOTLY_JS
        for name, path in sources.items():
            stem, dot, ext = name.rpartition(".")
            versioned = f"{stem}.{hashlib.sha256(path.read_bytes()).hexdigest()[:10]}{dot}{ext}"
            self.files[versioned] = path
            self.urls[name] = f"/assets/{versioned}"
        app.add_url_rule("/assets/<name>", "asset", self.serve)
        app.jinja_env.globals["asset_url"] = self.url
        app.extensions["assets"] = self

    def url(self, name: str) -> str:
        return self.urls[name]

    def serve(self, name: str) -> Response:
        path = self.files.get(name)
        if path is None:  # plain text: assets have no session, so no page (and no CSRF token) is rendered
            return Response("Not found / Finnes ikke\n", status=404, mimetype="text/plain")
        response = send_file(path, max_age=ONE_YEAR, conditional=True)
        response.cache_control.immutable = True
        response.cache_control.public = True
        return response


assets = Assets()
