"""Pasientens måledata: the SMART on FHIR app. `create_app()` builds it from the settings registry."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from app import settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory: settings, instance folder, secret, server-side sessions, SMART client, views."""
    from app import access_log, api, clinician, csrf, db, errors, secrets_file, security, sessions
    from app import admin, registration
    from app import blocks, citizen
    from app.assets import assets
    from smart import context, launch
    from smart.client import SmartClient

    app = Flask(__name__, template_folder=str(settings.ROOT / "templates"), static_folder=None)
    app.config.update(settings.load(test_config))
    instance = Path(app.config["INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    app.config.setdefault("APP_DB_PATH", str(instance / "app.sqlite"))
    app.config["APP_BASE_URL"] = app.config["APP_BASE_URL"].rstrip("/")
    app.config["SANDBOX_BASE_URL"] = app.config["SANDBOX_BASE_URL"].rstrip("/")
    app.secret_key = secrets_file.secret_key(app.config, instance)

    db.init_app(app)
    sessions.init_app(app)
    errors.init_app(app)
    csrf.init_app(app)
    SmartClient().init_app(app)
    context.init_app(app)
    access_log.init_app(app)
    blocks.init_app(app)
    assets.init_app(app)
    security.init_app(app)
    app.register_blueprint(launch.bp)
    app.register_blueprint(clinician.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(citizen.bp)
    app.register_blueprint(registration.bp)
    admin.init_app(app)
    return app
