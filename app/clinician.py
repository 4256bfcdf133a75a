"""Placeholder clinician/citizen view at `/`: shows the launch context. Replaced by the real view later."""
from __future__ import annotations

from flask import Blueprint, render_template

from smart.context import current_launch

bp = Blueprint("clinician", __name__)


@bp.get("/")
def index() -> str:
    """Who is looking at which patient, as the launch told us."""
    return render_template("clinician.html", launch=current_launch())
