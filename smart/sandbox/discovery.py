"""Placeholder, filled in by its owner."""
from flask import Blueprint

bp = Blueprint("sandbox_discovery", __name__)
