"""Placeholder, filled in by its owner."""
from flask import Blueprint

bp = Blueprint("sandbox_pages", __name__)
