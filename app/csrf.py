"""CSRF protection for every state-changing request (flask-wtf's CSRFProtect, a well-kept implementation of
the synchronizer-token pattern). Forms carry `{{ csrf_token() }}` in a hidden `csrf_token` field; scripts send
the token in the `X-CSRFToken` header (read it from `<meta name="csrf-token">`)."""
from __future__ import annotations

from flask import Flask, Response
from flask_wtf.csrf import CSRFError, CSRFProtect

from app.errors import AppError, render_error

csrf = CSRFProtect()


class CsrfRefused(AppError):
    status = 400
    code = "csrf_failed"
    title_nb, title_en = "Skjemaet kunne ikke sendes", "The form could not be sent"
    message_nb = "Skjemaet manglet en gyldig sikkerhetsnøkkel (CSRF), eller siden var for gammel. Ingenting er endret."
    message_en = "The form lacked a valid security token (CSRF), or the page was too old. Nothing was changed."
    todo_nb, todo_en = "Last inn siden på nytt og prøv igjen.", "Reload the page and try again."


def _refused(_error: CSRFError) -> Response:
    return render_error(CsrfRefused())


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # bound to the server-side session, which expires itself
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)  # inside an EHR iframe no Referer is sent (no-referrer)
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _refused)
