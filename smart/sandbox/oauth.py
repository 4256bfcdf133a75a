"""Placeholder, filled in by its owner."""
from flask import Flask


def init_app(app: Flask) -> None:
    return None
