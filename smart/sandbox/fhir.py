"""Placeholder, filled in by its owner."""
from flask import Blueprint

bp = Blueprint("sandbox_fhir", __name__)
