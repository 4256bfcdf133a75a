"""Language: Norwegian bokmål first, English second; chosen by `?lang=`, remembered in the session,
otherwise from `Accept-Language`."""
from __future__ import annotations

from flask import request, session

LANGS = ("nb", "en")
_NORWEGIAN = ("nb", "no", "nn")


def current_lang() -> str:
    asked = request.args.get("lang")
    if asked in LANGS:
        session["lang"] = asked
        return asked
    remembered = session.get("lang") if session else None
    if remembered in LANGS:
        return remembered
    best = request.accept_languages.best_match([*_NORWEGIAN, "en"], default="nb")
    return "en" if best == "en" else "nb"
