"""CSRF protection for every state-changing request (flask-wtf's CSRFProtect, a well-kept implementation of
the synchronizer-token pattern). Forms carry `{{ csrf_token() }}` in a hidden `csrf_token` field; scripts send
the token in the `X-CSRFToken` header (read it from `<meta name="csrf-token">`).

Forms are small: a form body over `MAX_FORM_BYTES` is refused (413) before it is read, so before the CSRF check
and before any view; other bodies are bounded by `MAX_CONTENT_LENGTH`."""
from __future__ import annotations

from flask import Flask, Response, current_app, request
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


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _limit_forms() -> None:
    """Werkzeug refuses (413) a form body past this limit, also a chunked one whose length is not announced."""
    limit = int(current_app.config.get("MAX_FORM_BYTES") or 0)
    if limit and request.mimetype in FORM_TYPES:
        request.max_content_length = min(limit, request.max_content_length or limit)
        request.max_form_memory_size = limit


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # bound to the server-side session, which expires itself
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)  # inside an EHR iframe no Referer is sent (no-referrer)
    app.before_request(_limit_forms)  # before CSRFProtect's own hook, which reads the form
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _refused)
