"""The secret key: configured in production, generated once into the instance folder in development."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Mapping


class ConfigurationError(RuntimeError):
    """Raised at start-up when the configuration cannot be run safely."""


def secret_key(config: Mapping[str, Any], instance: Path) -> str:
    """Return the configured secret, or a generated one outside production."""
    configured = str(config.get("SECRET_KEY") or "")
    if configured:
        if len(configured) < 32:
            raise ConfigurationError("PMD_SECRET_KEY must be at least 32 characters.")
        return configured
    if config.get("ENV") == "production":
        raise ConfigurationError("PMD_SECRET_KEY must be set in production.")
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
