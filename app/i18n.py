"""Language: Norwegian bokmål first, English second; chosen by `?lang=`, remembered in the session,
otherwise from `Accept-Language`."""
from __future__ import annotations

from flask import request, session

LANGS = ("nb", "en")
_NORWEGIAN = ("nb", "no", "nn")


def current_lang(remember: bool = True) -> str:
    """The language of this response; a page's `?lang=` is remembered, an API call's is not."""
    asked = request.args.get("lang")
    if asked in LANGS:
        if remember and session.get("lang") != asked:
            session["lang"] = asked  # written only on change: every session write races other tabs' requests
        return asked
    remembered = session.get("lang") if session else None
    if remembered in LANGS:
        return remembered
    best = request.accept_languages.best_match([*_NORWEGIAN, "en"], default="nb")
    return "en" if best == "en" else "nb"
