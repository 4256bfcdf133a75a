"""Checks on a new EHR registration, before it is stored: the input itself, then the EHR's SMART configuration.

Shared by `pmd ehr add` and the admin page. Each refusal is a `RegistrationRefused` with its own code and an
answer in bokmål and English that says why and what to do. The probe fetches
`{iss}/.well-known/smart-configuration` once (SMART App Launch 2.2 "Conformance") and refuses what cannot work:
no configuration, no PKCE S256 (SMART 2.2 requires it of servers and the app always sends it), an auth method
or signing algorithm the server does not take. Plain http is only accepted in development, and only for
loopback hosts (localhost, 127.0.0.1, ::1), where the embedded sandbox runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

import requests

from app.errors import AppError
from smart.registry import MEASUREMENT_SOURCES, SIGNING_ALGS, Registration, normalize_issuer, resolve

LOOPBACK = {"localhost", "127.0.0.1", "::1"}
AUTH_CHOICES = {
    "private_key_jwt": "private_key_jwt",
    "client_secret": "client_secret",  # basic or post, whichever the server takes (basic preferred)
    "client_secret_basic": "client_secret_basic",
    "client_secret_post": "client_secret_post",
    "public": "none",
    "none": "none",
}
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
PRINTABLE = re.compile(r"^[\x21-\x7e]{1,255}$")


class RegistrationRefused(AppError):
    """A registration that cannot work; `code` names the reason."""

    status = 400
    code = "registration_refused"
    title_nb, title_en = "Registreringen ble avvist", "The registration was refused"
    todo_nb = "Rett opp det som er nevnt og prøv igjen. Se docs/ehr-vendors.md."
    todo_en = "Correct what is named and try again. See docs/ehr-vendors.md."

    def __init__(self, code: str, nb: str, en: str, status: int = 400) -> None:
        super().__init__()
        self.code, self.status = code, status
        self.message_nb, self.message_en = nb, en

    def __str__(self) -> str:
        return f"{self.code}: {self.message_en}"


@dataclass(frozen=True)
class RegistrationInput:
    """What the integrator asks for, as typed (CLI options or admin form fields)."""

    iss: str
    client_id: str
    auth: str
    iss_prefix: bool = False
    secret_env: str = ""
    frame_origins: tuple[str, ...] = ()
    measurements: str = "ehr"
    store_url: str = ""
    name: str = ""
    signing_alg: str = "RS384"
    probe_iss: str = ""
    assume_pkce: bool = False


@dataclass
class Report:
    """What the EHR's SMART configuration says, line by line, and warnings that do not stop the registration."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _refuse(code: str, nb: str, en: str, status: int = 400) -> RegistrationRefused:
    return RegistrationRefused(code, nb, en, status)


def _http_allowed(host: str, development: bool) -> bool:
    return development and host in LOOPBACK


def check_url(url: str, what: str, development: bool) -> str:
    """An absolute https URL (http only for loopback in development), without credentials, query or fragment."""
    try:
        parts = urlsplit(url.strip())  # an unclosed IPv6 bracket raises here
        host = (parts.hostname or "").lower()
        _ = parts.port  # a malformed port raises here
    except ValueError:
        parts, host = urlsplit(""), ""
    if parts.scheme not in {"http", "https"} or not host or parts.username or parts.password or parts.query \
            or parts.fragment or any(c.isspace() for c in url.strip()):
        raise _refuse("bad_url", f"{what} er ikke en gyldig adresse (https://…, uten ?, # eller brukernavn): {url!r}",
                      f"{what} is not a valid URL (https://…, without ?, # or user name): {url!r}")
    if parts.scheme == "http" and not _http_allowed(host, development):
        raise _refuse("not_https", f"{what} må bruke https. http godtas bare for localhost i utvikling (PMD_ENV=development): {url}",
                      f"{what} must use https. http is only accepted for localhost in development (PMD_ENV=development): {url}")
    return normalize_issuer(url)


def check_origin(origin: str, development: bool) -> str:
    """A web origin (scheme, host, optional port) for CSP frame-ancestors: no path, no wildcard."""
    value = origin.strip().rstrip("/")
    try:
        path = urlsplit(value).path
    except ValueError:  # not a URL at all (an unclosed IPv6 bracket): check_url below refuses it
        path = ""
    if "*" in value or path or "'" in value or ";" in value:
        raise _refuse("bad_frame_origin", f"Rammeopphav må være et eksakt opphav som https://ehr.example, ikke {origin!r}",
                      f"A frame origin must be an exact origin such as https://ehr.example, not {origin!r}")
    return check_url(value, "Rammeopphav / frame origin", development)


def _auth_method(value: str) -> str:
    method = AUTH_CHOICES.get(value.strip())
    if method is None:
        raise _refuse("unknown_auth_method",
                      f"Ukjent autentiseringsmetode {value!r}. Bruk private_key_jwt, client_secret eller public.",
                      f"Unknown auth method {value!r}. Use private_key_jwt, client_secret or public.")
    return method


def validate(given: RegistrationInput, development: bool) -> Registration:
    """The registration the input describes, or RegistrationRefused naming the first problem (no network)."""
    what = "Utstederens adresseprefiks / issuer prefix" if given.iss_prefix else "Utsteder (iss) / issuer"
    issuer = check_url(given.iss, what, development)
    if not PRINTABLE.match(given.client_id.strip()):
        raise _refuse("bad_client_id", "Klient-ID mangler, eller har mellomrom eller kontrolltegn.",
                      "The client id is missing, or has spaces or control characters.")
    method = _auth_method(given.auth)
    secret_env = given.secret_env.strip()
    if method.startswith("client_secret"):
        if not secret_env:
            raise _refuse("secret_env_missing",
                          "client_secret trenger --secret-env NAVN: navnet på miljøvariabelen som holder hemmeligheten.",
                          "client_secret needs --secret-env NAME: the name of the environment variable holding the secret.")
        if not ENV_NAME.match(secret_env):
            raise _refuse("bad_secret_env",
                          "--secret-env tar NAVNET på en miljøvariabel (store bokstaver, tall, _), ikke hemmeligheten selv.",
                          "--secret-env takes the NAME of an environment variable (capitals, digits, _), not the secret itself.")
    elif secret_env:
        raise _refuse("secret_env_unused", "--secret-env brukes bare med client_secret.",
                      "--secret-env is only used with client_secret.")
    if given.signing_alg not in SIGNING_ALGS:
        raise _refuse("bad_signing_alg", f"Signeringsalgoritmen må være en av {sorted(SIGNING_ALGS)}.",
                      f"The signing algorithm must be one of {sorted(SIGNING_ALGS)}.")
    if given.measurements not in MEASUREMENT_SOURCES:
        raise _refuse("bad_measurements", "--measurements må være ehr eller national.",
                      "--measurements must be ehr or national.")
    store_url = ""
    if given.measurements == "national":
        if not given.store_url.strip():
            raise _refuse("store_url_missing", "--measurements national trenger --store-url.",
                          "--measurements national needs --store-url.")
        store_url = check_url(given.store_url, "Målingslager / store URL", development)
    elif given.store_url.strip():
        raise _refuse("store_url_unused", "--store-url brukes bare med --measurements national.",
                      "--store-url is only used with --measurements national.")
    name = given.name.strip() or (urlsplit(issuer).hostname or issuer)
    if len(name) > 200 or any(ord(c) < 32 for c in name):
        raise _refuse("bad_name", "Navnet er for langt eller har kontrolltegn.", "The name is too long or has control characters.")
    origins = tuple(dict.fromkeys(check_origin(o, development) for o in given.frame_origins if o.strip()))
    return Registration(
        issuer=issuer, client_id=given.client_id.strip(), name=name, auth_method=method,
        signing_alg=given.signing_alg, secret_env=secret_env, frame_origins=origins,
        measurements=given.measurements, store_url=store_url, match="prefix" if given.iss_prefix else "exact",
        source="stored",
    )


def probe_base(registration: Registration, probe_iss: str, development: bool) -> str:
    """The FHIR base whose SMART configuration is read: the issuer, or for a prefix an issuer under it."""
    if not probe_iss.strip():
        return registration.issuer
    base = check_url(probe_iss, "Prøveutsteder / probe issuer", development)
    if registration.match != "prefix" or resolve([registration], base) is None:
        raise _refuse("bad_probe_iss", "--probe-iss må være en utsteder under prefikset som registreres.",
                      "--probe-iss must be an issuer under the prefix being registered.")
    return base


def probe(registration: Registration, base: str, timeout: float, *, development: bool,
          assume_pkce: bool = False) -> tuple[Registration, Report]:
    """Read `{base}/.well-known/smart-configuration` once; the registration as it will work there, and a report."""
    url = f"{base}/.well-known/smart-configuration"
    try:
        response = requests.get(url, headers={"Accept": "application/json"}, timeout=timeout)
    except requests.RequestException as exc:
        raise _refuse("iss_unreachable", f"Fikk ikke kontakt med {url} ({type(exc).__name__}).",
                      f"Could not reach {url} ({type(exc).__name__}). Check the URL and that this server can reach it.",
                      502) from exc
    try:
        doc = response.json() if response.status_code == 200 else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not doc.get("authorization_endpoint") or not doc.get("token_endpoint"):
        raise _refuse("no_smart_configuration",
                      f"{url} ga ingen SMART-konfigurasjon (HTTP {response.status_code}, eller mangler endepunktene). "
                      "For et prefiks: oppgi en fullstendig utsteder med --probe-iss.",
                      f"{url} gave no SMART configuration (HTTP {response.status_code}, or it lacks the endpoints). "
                      "For a prefix: give a full issuer under it with --probe-iss.")
    report = Report()
    for name in ("authorization_endpoint", "token_endpoint"):
        endpoint = urljoin(base + "/", str(doc[name]))
        parts = urlsplit(endpoint)
        if parts.scheme != "https" and not (parts.scheme == "http" and _http_allowed(parts.hostname or "", development)):
            raise _refuse("endpoint_not_https", f"{name} i SMART-konfigurasjonen bruker ikke https: {endpoint}",
                          f"{name} in the SMART configuration does not use https: {endpoint}")
        report.lines.append((name, endpoint))
    pkce = doc.get("code_challenge_methods_supported")
    if not (isinstance(pkce, list) and "S256" in pkce):
        if pkce is not None or not assume_pkce:
            raise _refuse("no_s256", "Serveren oppgir ikke PKCE S256 (code_challenge_methods_supported). "
                          "Appen sender alltid S256; uten det kan innloggingen ikke fullføres.",
                          "The server does not list PKCE S256 (code_challenge_methods_supported). The app always "
                          "sends S256; without it sign-in cannot complete. If the server supports S256 without "
                          "saying so, add --assume-pkce.")
        report.warnings.append("PKCE S256 is not advertised; registered with --assume-pkce.")
    report.lines.append(("PKCE S256", "yes" if isinstance(pkce, list) and "S256" in pkce else "assumed"))
    registration = _choose_auth(registration, doc, report)
    capabilities = set(doc.get("capabilities") or [])
    v2 = "permission-v2" in capabilities
    report.lines.append(("v2 scopes (permission-v2)", "yes" if v2 else "no: the app will ask v1 scopes (.read)"))
    for capability in ("launch-ehr", "launch-standalone", "sso-openid-connect"):
        report.lines.append((capability, "yes" if capability in capabilities else "not listed"))
    if "launch-ehr" not in capabilities and "launch-standalone" not in capabilities:
        report.warnings.append("The server lists neither launch-ehr nor launch-standalone.")
    return registration, report


def _choose_auth(registration: Registration, doc: dict, report: Report) -> Registration:
    """Check the auth method (and for private_key_jwt the algorithm) against what the token endpoint takes."""
    listed = doc.get("token_endpoint_auth_methods_supported")
    methods = [str(m) for m in listed] if isinstance(listed, list) else None
    method = registration.auth_method
    if method == "client_secret":
        method = "client_secret_post" if methods and "client_secret_basic" not in methods \
            and "client_secret_post" in methods else "client_secret_basic"
    if methods is not None and method not in methods:
        if method == "none":
            report.warnings.append("The server does not list 'none' (public clients); it may still accept one.")
        else:
            raise _refuse("auth_method_unsupported",
                          f"Serveren tar ikke imot {method} (token_endpoint_auth_methods_supported: {', '.join(methods)}).",
                          f"The server does not take {method} (token_endpoint_auth_methods_supported: {', '.join(methods)}).")
    alg = registration.signing_alg
    if method == "private_key_jwt":
        algs = doc.get("token_endpoint_auth_signing_alg_values_supported")
        if isinstance(algs, list) and alg not in algs:
            alg = next((a for a in ("RS384", "ES384") if a in algs), "")
            if not alg:
                raise _refuse("signing_alg_unsupported",
                              "Serveren godtar verken RS384 eller ES384 for private_key_jwt.",
                              "The server accepts neither RS384 nor ES384 for private_key_jwt.")
        report.lines.append(("auth method", f"{method} ({alg}), supported"))
    else:
        report.lines.append(("auth method", f"{method}, supported" if methods is None or method in methods
                             else f"{method}, not listed"))
    return replace(registration, auth_method=method, signing_alg=alg)
