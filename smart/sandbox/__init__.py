"""The embedded SMART sandbox EHR: an authorization server, a FHIR R4 API and an EHR page.

`create_sandbox()` builds it; data is generated from a seed at first run into the instance folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from app import settings
from smart.sandbox import db as sandbox_db
from app import secrets_file


def create_sandbox(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory for the sandbox EHR."""
    from smart.sandbox import discovery, fhir, oauth, pages, store, synthetic, tokens

    app = Flask(__name__)
    app.config.update(settings.load(test_config))
    instance = Path(app.config["INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    app.config.setdefault("SANDBOX_DB_PATH", str(instance / "sandbox.sqlite"))
    base = app.config["SANDBOX_BASE_URL"].rstrip("/")
    app.config["SANDBOX_BASE_URL"] = base
    app.config["FHIR_BASE_URL"] = base + "/fhir"

    app.secret_key = secrets_file.secret_key(app.config, instance)
    sandbox_db.init_app(app)
    database = sandbox_db.connect(app.config["SANDBOX_DB_PATH"])
    try:
        fhir_store = store.FhirStore(database)
        fhir_store.ensure_schema()
        tokens.TokenStore(database).ensure_schema()
        if fhir_store.is_empty():
            synthetic.seed(
                fhir_store,
                seed=int(app.config["SANDBOX_SEED"]),
                dense_observations=int(app.config["SANDBOX_DENSE_OBSERVATIONS"]),
            )
    finally:
        database.conn.close()

    oauth.init_app(app)
    app.register_blueprint(discovery.bp, url_prefix="/fhir/.well-known")
    app.register_blueprint(fhir.bp, url_prefix="/fhir")
    app.register_blueprint(pages.bp)
    return app
