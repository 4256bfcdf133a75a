"""SMART discovery against real HTTP servers: smart-configuration, relative URLs, CapabilityStatement
fallback, caching with a lifetime, and a clear failure."""
from __future__ import annotations

import time

import pytest
from flask import Flask

from app.errors import DiscoveryFailed
from smart.discovery import Discovery
from smart.registry import Registration
from tests.servers import LiveServer


def _registration(fake, ehr: str) -> Registration:  # type: ignore[no-untyped-def]
    return Registration(fake.issuer(ehr), "pasientens-maledata")


def test_smart_configuration_is_read(fake_ehr) -> None:
    config = Discovery(60, 5).configuration(_registration(fake_ehr, "jwt-rs"))
    assert config.source == "smart-configuration"
    assert config.authorization_endpoint == f"{fake_ehr.url}/jwt-rs/auth/authorize"
    assert config.token_endpoint == f"{fake_ehr.url}/jwt-rs/auth/token"
    assert config.issuer == fake_ehr.issuer("jwt-rs")
    assert config.permission_v2 and "sso-openid-connect" in config.capabilities


def test_relative_urls_are_resolved_against_the_fhir_base(fake_ehr) -> None:
    config = Discovery(60, 5).configuration(_registration(fake_ehr, "relative"))
    assert config.authorization_endpoint == f"{fake_ehr.url}/relative/auth/authorize"
    assert config.jwks_uri == f"{fake_ehr.url}/relative/auth/jwks"


def test_capability_statement_is_the_fallback(fake_ehr) -> None:
    config = Discovery(60, 5).configuration(_registration(fake_ehr, "v1"))
    assert config.source == "capability-statement"
    assert config.token_endpoint == f"{fake_ehr.url}/v1/auth/token"
    assert not config.permission_v2
    assert [r["path"] for r in fake_ehr.requests] == [
        "/v1/fhir/.well-known/smart-configuration", "/v1/fhir/metadata",
    ]


def test_results_are_cached(fake_ehr) -> None:
    discovery = Discovery(60, 5)
    registration = _registration(fake_ehr, "jwt-rs")
    assert discovery.configuration(registration) == discovery.configuration(registration)
    assert len(fake_ehr.seen("/smart-configuration")) == 1


def test_cache_expires_after_its_lifetime(fake_ehr) -> None:
    discovery = Discovery(0.2, 5)
    registration = _registration(fake_ehr, "jwt-rs")
    discovery.configuration(registration)
    time.sleep(0.3)
    discovery.configuration(registration)
    assert len(fake_ehr.seen("/smart-configuration")) == 2


def test_jwks_is_cached_and_refetched_on_demand(fake_ehr) -> None:
    discovery = Discovery(60, 5)
    config = discovery.configuration(_registration(fake_ehr, "jwt-rs"))
    assert discovery.jwks(config)["keys"][0]["kid"] == fake_ehr.key.kid
    discovery.jwks(config)
    discovery.jwks(config, force=True)
    assert len(fake_ehr.seen("/auth/jwks")) == 2


def _answering(status: int, body: str) -> Flask:
    app = Flask("answering")

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def anything(path: str) -> tuple[str, int]:
        return body, status

    return app


@pytest.mark.parametrize(
    "status, body",
    [(404, "not here"), (200, "not json"), (200, "[1, 2]"), (200, '{"authorization_endpoint": "/a"}'),
     (500, '{"resourceType": "OperationOutcome"}')],
)
def test_server_without_smart_endpoints_fails_clearly(status: int, body: str) -> None:
    with LiveServer(lambda _url: _answering(status, body)) as server:
        with pytest.raises(DiscoveryFailed):
            Discovery(60, 5).configuration(Registration(f"{server.url}/fhir", "app"))


def test_unreachable_server_fails_clearly() -> None:
    server = LiveServer(lambda _url: _answering(200, "{}"))
    url = server.url
    server._server.server_close()  # the port is closed: connections are refused
    with pytest.raises(DiscoveryFailed):
        Discovery(60, 1).configuration(Registration(f"{url}/fhir", "app"))


def test_registered_ehr_that_is_down_gives_a_502_page(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    response = browser.get(f"{fake_app_server.url}/launch", params={"iss": fake_ehr.issuer("down"), "launch": "x"})
    assert response.status_code == 502
    assert 'data-code="discovery_failed"' in response.text
    assert "Journalsystemet svarer ikke" in response.text and "The EHR does not answer" in response.text
