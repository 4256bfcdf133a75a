"""The EHR registry from TOML: the shipped sandbox registration, issuer matching, and clear configuration errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from app import settings
from app.secrets_file import ConfigurationError
from smart.registry import TomlEhrRegistry, from_config


def test_sandbox_is_registered_out_of_the_box() -> None:
    config = settings.load({"SANDBOX_BASE_URL": "http://localhost:8123", "APP_BASE_URL": "http://127.0.0.1:8000"})
    registration = from_config(config).find("http://localhost:8123/fhir")
    assert registration is not None
    assert registration.client_id == "pasientens-maledata"
    assert registration.auth_method == "private_key_jwt"
    assert registration.frame_origins == ("http://localhost:8123",)
    assert registration.measurements == "ehr"


@pytest.mark.parametrize("iss", ["https://ehr.example/fhir", "https://ehr.example/fhir/", "HTTPS://EHR.example/fhir"])
def test_issuer_matches_without_trailing_slash_or_case_of_host(tmp_path: Path, iss: str) -> None:
    path = tmp_path / "ehrs.toml"
    path.write_text('[[ehr]]\nissuer = "https://ehr.example/fhir/"\nclient_id = "x"\n')
    assert TomlEhrRegistry(path, {}).find(iss) is not None


@pytest.mark.parametrize("iss", ["https://ehr.example/fhir2", "https://ehr.example", "https://evil.example/fhir"])
def test_other_issuers_are_not_found(tmp_path: Path, iss: str) -> None:
    path = tmp_path / "ehrs.toml"
    path.write_text('[[ehr]]\nissuer = "https://ehr.example/fhir"\nclient_id = "x"\n')
    assert TomlEhrRegistry(path, {}).find(iss) is None


@pytest.mark.parametrize(
    "entry, complaint",
    [
        ('client_id = "x"', "issuer"),
        ('issuer = "https://e/fhir"', "client_id"),
        ('issuer = "https://e/fhir"\nclient_id = "x"\nauth_method = "magic"', "auth_method"),
        ('issuer = "https://e/fhir"\nclient_id = "x"\nsigning_alg = "HS256"', "signing_alg"),
        ('issuer = "https://e/fhir"\nclient_id = "x"\nauth_method = "client_secret_basic"', "secret_env"),
        ('issuer = "https://e/fhir"\nclient_id = "x"\nmeasurements = "national"', "store_url"),
        ('issuer = "https://e/fhir"\nclient_id = "x"\nclient_secret = "oops"', "unknown keys"),
    ],
)
def test_bad_registration_is_a_clear_configuration_error(tmp_path: Path, entry: str, complaint: str) -> None:
    path = tmp_path / "ehrs.toml"
    path.write_text(f"[[ehr]]\n{entry}\n")
    with pytest.raises(ConfigurationError, match=complaint):
        TomlEhrRegistry(path, {})
