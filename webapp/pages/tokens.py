"""The person's own API tokens: make one (shown once, on the answer page), see them, revoke them.

Logged-in users only; forms carry the CSRF token and must come from this origin (check_post).
"""

from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, url_for

from webapp.accounts.tokens import SCOPES, TokenError
from webapp.extensions import tokens
from webapp.pages.access import check_post, current_user, login_needed

bp = Blueprint("tokens_page", __name__, url_prefix="/tokens")
bp.before_request(check_post)


@bp.before_request
def logged_in_only():
    return login_needed() if current_user() is None else None


def _name() -> str:
    user = current_user()
    assert user is not None
    return user[0]


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stamp)) if stamp else "never"


def page(status: int = 200, **extra):
    return render_template("tokens/tokens.html", tokens=tokens().list(_name()), scopes=SCOPES,
                           values=request.form, when=when, **extra), status


@bp.get("")
def index():
    return page()


@bp.post("")
def create():
    days_text = (request.form.get("days") or "").strip()
    try:
        days = float(days_text) if days_text else None
        secret, token = tokens().create(_name(), request.form.get("name", ""),
                                        request.form.get("scope", "predict"), days)
    except ValueError as exc:  # TokenError, or days that are not a number
        message = str(exc) if isinstance(exc, TokenError) else "Expiry is a number of days"
        return page(400, error=message)
    return page(201, secret=secret, made=token)


@bp.post("/<token_id>/revoke")
def revoke(token_id: str):
    try:
        token = tokens().revoke(token_id, _name())
    except TokenError as exc:
        return page(exc.status, error=str(exc))
    flash(f"Token '{token.name}' is revoked; every worker refuses it within seconds.", "ok")
    return redirect(url_for("tokens_page.index"), code=303)
