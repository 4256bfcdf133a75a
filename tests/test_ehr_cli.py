"""`pmd ehr add|list|show|remove` against real servers (the fake EHR, the sandbox): what works is stored and
reported, and every registration that cannot work is refused with its reason and leaves nothing behind."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from app.cli import main
from app.ehr_store import EhrStore
from tests.servers import LiveServer


@pytest.fixture()
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty instance folder the `pmd` command works on, in development."""
    monkeypatch.setenv("PMD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PMD_ENV", "development")
    monkeypatch.setenv("PMD_SANDBOX_BASE_URL", "http://localhost:8001")
    monkeypatch.setenv("PMD_HTTP_TIMEOUT", "5")
    return tmp_path


def _pmd(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _stored(instance: Path) -> tuple[list[str], list[dict]]:
    store = EhrStore(instance / "registry.sqlite")
    try:
        return [r.issuer for r in store.all()], store.changes()
    finally:
        store.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_add_reports_what_the_ehr_supports_and_stores_it(instance: Path, fake_ehr_server: LiveServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    iss = fake_ehr_server.fake.issuer("jwt-rs")  # type: ignore[attr-defined]
    code, out, err = _pmd(capsys, "ehr", "add", "--iss", iss, "--client-id", "site-7", "--auth", "private_key_jwt",
                          "--frame-origin", "http://localhost:9999", "--name", "Testjournal")
    assert code == 0, err
    assert f"Registered issuer {iss}" in out
    assert "PKCE S256: yes" in out and "v2 scopes (permission-v2): yes" in out
    assert "auth method: private_key_jwt (RS384), supported" in out
    issuers, changes = _stored(instance)
    assert issuers == [iss]
    assert changes[0]["action"] == "ehr.add" and changes[0]["actor"].startswith("cli:")
    code, out, _ = _pmd(capsys, "ehr", "show", iss)
    shown = json.loads(out)
    assert (shown["client_id"], shown["frame_origins"], shown["source"]) == ("site-7", ["http://localhost:9999"], "stored")
    code, out, _ = _pmd(capsys, "ehr", "list", "--json")
    assert {r["issuer"] for r in json.loads(out)} == {iss, "http://localhost:8001/fhir"}
    code, out, _ = _pmd(capsys, "ehr", "remove", iss)
    assert code == 0 and "Removed" in out
    assert _stored(instance)[0] == []


def test_client_secret_picks_the_method_the_server_takes(instance: Path, fake_ehr_server: LiveServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    iss = fake_ehr_server.fake.issuer("basic")  # type: ignore[attr-defined]
    code, out, err = _pmd(capsys, "ehr", "add", "--iss", iss, "--client-id", "c", "--auth", "client_secret",
                          "--secret-env", "PMD_UNSET_FOR_TEST_SECRET")
    assert code == 0, err
    assert "client_secret_basic" in out and "PMD_UNSET_FOR_TEST_SECRET is not set here" in out


def test_prefix_is_checked_through_an_issuer_under_it(instance: Path, fake_ehr_server: LiveServer,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    prefix = fake_ehr_server.url + "/jwt-rs"
    code, out, err = _pmd(capsys, "ehr", "add", "--iss-prefix", prefix, "--probe-iss", prefix + "/fhir",
                          "--client-id", "c", "--auth", "private_key_jwt")
    assert code == 0, err
    assert f"Registered prefix {prefix}" in out
    code, out, _ = _pmd(capsys, "ehr", "show", prefix + "/fhir")
    assert json.loads(out)["registered_as"] == prefix


def _refused(capsys: pytest.CaptureFixture[str], instance: Path, argv: list[str], reason: str) -> str:
    code, out, err = _pmd(capsys, "ehr", "add", *argv)
    assert code == 1, (out, err)
    assert f"Refused ({reason})" in err and f"Avvist ({reason})" in err
    assert _stored(instance) == ([], []), "a refused registration must leave nothing behind"
    return err


@pytest.mark.parametrize("ehr, reason", [
    ("v1", "no_smart_configuration"),  # 404: only a CapabilityStatement
    ("down", "no_smart_configuration"),  # 503
    ("nopkce", "no_s256"),
])
def test_ehr_that_cannot_work_is_refused(instance: Path, fake_ehr_server: LiveServer,
                                         capsys: pytest.CaptureFixture[str], ehr: str, reason: str) -> None:
    iss = fake_ehr_server.fake.issuer(ehr)  # type: ignore[attr-defined]
    _refused(capsys, instance, ["--iss", iss, "--client-id", "c", "--auth", "private_key_jwt"], reason)


def test_explicit_list_without_s256_is_refused_even_with_assume_pkce(
        instance: Path, fake_ehr_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    iss = fake_ehr_server.fake.issuer("nopkce")  # type: ignore[attr-defined]
    _refused(capsys, instance, ["--iss", iss, "--client-id", "c", "--auth", "private_key_jwt", "--assume-pkce"], "no_s256")


def test_unreachable_issuer_is_refused(instance: Path, capsys: pytest.CaptureFixture[str]) -> None:
    iss = f"http://127.0.0.1:{_closed_port()}/fhir"
    err = _refused(capsys, instance, ["--iss", iss, "--client-id", "c", "--auth", "private_key_jwt"], "iss_unreachable")
    assert "ConnectionError" in err


def test_http_is_refused_outside_development(instance: Path, fake_ehr, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMD_ENV", "production")
    err = _refused(capsys, instance, ["--iss", fake_ehr.issuer("jwt-rs"), "--client-id", "c", "--auth", "private_key_jwt"],
                   "not_https")
    assert "https" in err
    assert fake_ehr.requests == [], "nothing is contacted before the input is accepted"


@pytest.mark.parametrize("argv, reason", [
    (["--iss", "http://ehr.example/fhir"], "not_https"),  # http only for loopback, even in development
    (["--iss", "ftp://ehr.example/fhir"], "bad_url"),
    (["--iss", "https://ehr.example/fhir?x=1"], "bad_url"),
    (["--iss", "https://user:pw@ehr.example/fhir"], "bad_url"),
    (["--iss", "https://ehr.example/fhir", "--auth", "magic"], "unknown_auth_method"),
    (["--iss", "https://ehr.example/fhir", "--auth", "client_secret"], "secret_env_missing"),
    (["--iss", "https://ehr.example/fhir", "--auth", "client_secret", "--secret-env", "s3cr3t-Value!"], "bad_secret_env"),
    (["--iss", "https://ehr.example/fhir", "--secret-env", "EHR_SECRET"], "secret_env_unused"),
    (["--iss", "https://ehr.example/fhir", "--frame-origin", "https://ehr.example/app"], "bad_frame_origin"),
    (["--iss", "https://ehr.example/fhir", "--frame-origin", "https://*.ehr.example"], "bad_frame_origin"),
    (["--iss", "https://ehr.example/fhir", "--frame-origin", "http://ehr.example"], "not_https"),
    (["--iss", "https://ehr.example/fhir", "--measurements", "national"], "store_url_missing"),
    (["--iss", "https://ehr.example/fhir", "--measurements", "cloud"], "bad_measurements"),
    (["--iss", "https://ehr.example/fhir", "--store-url", "https://pmd.example/fhir"], "store_url_unused"),
    (["--iss", "https://ehr.example/fhir", "--signing-alg", "HS256"], "bad_signing_alg"),
    (["--iss", "https://ehr.example/fhir", "--client-id", "has space"], "bad_client_id"),
    (["--iss-prefix", "https://ehr.example/sites", "--probe-iss", "https://other.example/fhir"], "bad_probe_iss"),
    (["--iss", "http://localhost:8001/fhir/"], "duplicate"),  # already in config/ehrs.toml
])
def test_bad_input_is_refused_before_anything_is_contacted(instance: Path, capsys: pytest.CaptureFixture[str],
                                                           argv: list[str], reason: str) -> None:
    defaults = {"--client-id": "c", "--auth": "private_key_jwt"}
    extra = [item for flag, value in defaults.items() if flag not in argv for item in (flag, value)]
    _refused(capsys, instance, [*argv, *extra], reason)


@pytest.mark.parametrize("flag", ["--secret", "--client-secret"])
def test_secret_on_the_command_line_is_refused(instance: Path, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    err = _refused(capsys, instance, ["--iss", "https://ehr.example/fhir", "--client-id", "c", "--auth", "client_secret",
                                      flag, "hunter2-very-secret"], "secret_on_command_line")
    assert "--secret-env NAME" in err and "hunter2" not in err


def test_duplicate_registration_is_refused(instance: Path, fake_ehr_server: LiveServer,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    iss = fake_ehr_server.fake.issuer("jwt-es")  # type: ignore[attr-defined]
    argv = ["ehr", "add", "--iss", iss, "--client-id", "c", "--auth", "private_key_jwt"]
    assert _pmd(capsys, *argv)[0] == 0
    code, _, err = _pmd(capsys, *argv[:3], iss + "/", *argv[4:])
    assert code == 1 and "Refused (duplicate)" in err
    issuers, changes = _stored(instance)
    assert issuers == [iss] and len(changes) == 1


def test_auth_method_the_server_does_not_take_is_refused(instance: Path, sandbox: LiveServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _refused(capsys, instance, ["--iss", sandbox.url + "/fhir", "--client-id", "c",
                                "--auth", "client_secret_post", "--secret-env", "X_SECRET"], "auth_method_unsupported")


@pytest.mark.parametrize("argv, message", [
    (["ehr", "remove", "http://localhost:8001/fhir"], "registered_in_config"),
    (["ehr", "remove", "https://nobody.example/fhir"], "not_registered"),
])
def test_remove_refuses_what_it_cannot_remove(instance: Path, capsys: pytest.CaptureFixture[str],
                                              argv: list[str], message: str) -> None:
    code, _, err = _pmd(capsys, *argv)
    assert code == 1 and message in err


def test_show_of_an_unregistered_issuer_says_so(instance: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _pmd(capsys, "ehr", "show", "https://nobody.example/fhir")
    assert code == 1 and "Not registered" in err
