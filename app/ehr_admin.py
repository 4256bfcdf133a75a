"""Registering EHRs: add, list, show, remove. Used by `pmd ehr …` (another process than the app, same instance
folder, `PMD_INSTANCE_PATH`) and by the admin page; both go through the same checks (`app/ehr_check.py`).

Every change is stored together with who made it (`cli:<os user>` or `admin:<user>`), see `app/ehr_store.py`.
Secrets are never taken as values, only as the name of the environment variable that holds one.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import asdict
from typing import Any, Mapping

from app import settings
from app.ehr_check import RegistrationInput, RegistrationRefused, Report, probe, probe_base, validate
from app.ehr_store import DuplicateRegistration, EhrStore, path_for
from smart.registry import CombinedRegistry, Registration, from_config


def open_registry(config: Mapping[str, Any]) -> tuple[CombinedRegistry, EhrStore]:
    """The registry as the app with these settings sees it, and its writable store."""
    store = EhrStore(path_for(config))
    return CombinedRegistry(from_config(config), store), store


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _duplicate(key: str, source: str) -> RegistrationRefused:
    where_nb = "i config/ehrs.toml" if source == "config" else "fra før"
    where_en = "in config/ehrs.toml" if source == "config" else "already"
    return RegistrationRefused("duplicate", f"{key} er registrert {where_nb}. Fjern den først for å endre den.",
                               f"{key} is registered {where_en}. Remove it first to change it.", 409)


def add(given: RegistrationInput, registry: CombinedRegistry, store: EhrStore, config: Mapping[str, Any],
        actor: str) -> tuple[Registration, Report]:
    """Check, probe the EHR's SMART configuration once, and store; RegistrationRefused says why not."""
    development = config.get("ENV") == "development"
    registration = validate(given, development)
    existing = registry.registered(registration.issuer)
    if existing is not None:
        raise _duplicate(registration.issuer, existing.source)
    base = probe_base(registration, given.probe_iss, development)
    registration, report = probe(registration, base, float(config["HTTP_TIMEOUT"]), development=development,
                                 assume_pkce=given.assume_pkce)
    if registration.secret_env and not os.environ.get(registration.secret_env):
        report.warnings.append(f"{registration.secret_env} is not set here; the app's environment must set it.")
    try:
        store.add(registration, actor, {"probed": base})
    except DuplicateRegistration as exc:
        raise _duplicate(registration.issuer, "stored") from exc
    return registration, report


def remove(key: str, registry: CombinedRegistry, store: EhrStore, actor: str) -> Registration:
    """Remove a stored registration; those from config/ehrs.toml are changed in that file."""
    registration = registry.registered(key)
    if registration is None:
        raise RegistrationRefused("not_registered", f"Ingen registrering for {key}.", f"No registration for {key}.", 404)
    if registration.source == "config":
        raise RegistrationRefused("registered_in_config", f"{key} står i config/ehrs.toml; endre den filen.",
                                  f"{key} is in config/ehrs.toml; change that file.", 409)
    store.remove(registration.issuer, actor)
    return registration


def describe(registration: Registration) -> dict[str, Any]:
    """A registration as shown to operators (it holds no secret, only a variable's name)."""
    data = asdict(registration)
    data["frame_origins"] = list(registration.frame_origins)
    data["registered_as"] = registration.key
    return {k: v for k, v in data.items() if k != "registered_issuer"}


# --- The `pmd ehr …` commands ---------------------------------------------------------------------------------


def _print_refusal(error: RegistrationRefused) -> int:
    print(f"Refused ({error.code}): {error.message_en}", file=sys.stderr)
    print(f"Avvist ({error.code}): {error.message_nb}", file=sys.stderr)
    return 1


def cli_add(args: argparse.Namespace) -> int:
    if args.secret is not None or args.client_secret is not None:
        return _print_refusal(RegistrationRefused(
            "secret_on_command_line",
            "Hemmeligheter tas aldri på kommandolinjen (de havner i skallhistorikk og prosesslister). Legg den i en "
            "miljøvariabel for appen og oppgi navnet med --secret-env NAVN.",
            "Secrets are never taken on the command line (they end up in shell history and process lists). Put it "
            "in an environment variable of the app and give its name with --secret-env NAME.",
        ))
    config = settings.load()
    registry, store = open_registry(config)
    given = RegistrationInput(
        iss=args.iss_prefix or args.iss, iss_prefix=bool(args.iss_prefix), client_id=args.client_id, auth=args.auth,
        secret_env=args.secret_env or "", frame_origins=tuple(args.frame_origin or ()),
        measurements=args.measurements, store_url=args.store_url or "", name=args.name or "",
        signing_alg=args.signing_alg, probe_iss=args.probe_iss or "", assume_pkce=args.assume_pkce,
    )
    try:
        registration, report = add(given, registry, store, config, cli_actor())
    except RegistrationRefused as error:
        return _print_refusal(error)
    finally:
        store.close()
    kind = "prefix" if registration.match == "prefix" else "issuer"
    print(f"Registered {kind} {registration.issuer} (client id {registration.client_id}); "
          "it takes effect for the next launch.")
    for label, value in report.lines:
        print(f"  {label}: {value}")
    for warning in report.warnings:
        print(f"  warning: {warning}")
    return 0


def cli_list(args: argparse.Namespace) -> int:
    registry, store = open_registry(settings.load())
    try:
        registrations = [describe(r) for r in registry.all()]
    finally:
        store.close()
    if args.json:
        print(json.dumps(registrations, indent=2, ensure_ascii=False))
        return 0
    for r in registrations:
        mark = " (prefix)" if r["match"] == "prefix" else ""
        print(f"{r['issuer']}{mark}  client_id={r['client_id']}  auth={r['auth_method']}  "
              f"measurements={r['measurements']}  frame_origins={','.join(r['frame_origins']) or '-'}  [{r['source']}]")
    if not registrations:
        print("No EHR is registered.")
    return 0


def cli_show(args: argparse.Namespace) -> int:
    registry, store = open_registry(settings.load())
    try:
        registration = registry.registered(args.iss) or registry.find(args.iss)
    finally:
        store.close()
    if registration is None:
        print(f"Not registered: {args.iss} (no exact issuer and no prefix matches it).", file=sys.stderr)
        return 1
    print(json.dumps(describe(registration), indent=2, ensure_ascii=False))
    return 0


def cli_remove(args: argparse.Namespace) -> int:
    registry, store = open_registry(settings.load())
    try:
        registration = remove(args.iss, registry, store, cli_actor())
    except RegistrationRefused as error:
        return _print_refusal(error)
    finally:
        store.close()
    print(f"Removed {registration.key}; launches from it are refused from now on.")
    return 0
