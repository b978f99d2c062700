"""Who is looking at a page: session login (or basic auth), the admin role, CSRF and origin checks.

Pages use a session cookie set by the login form; a browser that already sends basic-auth
credentials is accepted too. Because browsers send both automatically, every POST from a page
must carry a CSRF token and come from this origin (Origin / Sec-Fetch-Site).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFProtect

from webapp.extensions import users

bp = Blueprint("access", __name__)
csrf = CSRFProtect()


def current_user() -> tuple[str, str] | None:
    """(name, role) of the person behind this request, from the session or basic auth."""
    if "page_user" in g:
        return g.page_user
    found = None
    if session.get("user"):
        role = users().role(session["user"])
        found = (session["user"], role) if role else None  # a removed user is logged out
    elif request.authorization and request.authorization.type == "basic":
        name = request.authorization.username or ""
        role, _ = users().authenticate(name, request.authorization.password or "", client())
        found = (name, role) if role else None
    g.page_user = found
    return found


def client() -> str:
    return request.remote_addr or "-"


def user_name() -> str:
    user = current_user()
    return user[0] if user else "anonymous"


def login_needed() -> Any:
    """The redirect to the login form, keeping where the person was going."""
    return redirect(url_for("access.login", next=request.full_path.rstrip("?")))


def require_viewer() -> Any:
    """before_request for prediction pages: open unless UI_REQUIRE_LOGIN is set."""
    if current_app.config.get("UI_REQUIRE_LOGIN") and current_user() is None:
        return login_needed()
    return None


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return login_needed()
        if user[1] != "admin":
            abort(403, "This page needs the admin role.")
        return view(*args, **kwargs)

    return wrapper


def check_post() -> None:
    """before_request for page blueprints: same-origin POSTs with a valid CSRF token only."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site and site not in ("same-origin", "none"):
        abort(403, "Forms are accepted only from Podium's own pages.")
    origin = request.headers.get("Origin")
    if origin and origin != "null" and _origin(origin) != _origin(request.host_url):
        abort(403, "Forms are accepted only from Podium's own pages.")
    csrf.protect()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _safe_next(target: str | None) -> str:
    """Only local paths, so the login form cannot bounce a person to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("username", "")[:256]
        role, _ = users().authenticate(name, request.form.get("password", "")[:2048], client())
        if role is None:
            error = "That user name and password do not match."
        else:
            session.clear()  # a fresh session: no fixation across the login
            session["user"] = name
            flash(f"Logged in as {name}.", "ok")
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("access/login.html", error=error,
                           username=request.form.get("username", "")), status


@bp.post("/logout")
def logout():
    session.clear()
    flash("Logged out.", "ok")
    return redirect(url_for("home.index"))


bp.before_request(check_post)
