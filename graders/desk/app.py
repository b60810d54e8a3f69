"""The examiners' desk: a small Flask app over one course's gradebook.

Pages: the register, each student's sheets, and per student × experiment a
viva form and an answers form whose marks become append-only overrides (who
and why recorded); the static reports are re-rendered after each save.

It shows answer keys, so it is an examiner's tool, guarded accordingly:

* bound to loopback by default; another address needs a token (``serve``
  refuses to start otherwise), and without a token only loopback ``Host``
  names are answered (a rebound DNS name cannot reach a token-less desk);
* with a token every request needs it: a login form sets a session cookie, or
  ``?token=`` once (then redirected away so it leaves the address bar);
  compared in constant time;
* every POST carries the session's CSRF token;
* responses are never cached and may run only the page's own script.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import socket
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from flask import Flask, abort, flash, g, redirect, render_template, request, send_from_directory, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from graders.api import GradingError
from graders.desk.sheets import (
    MARKED_AT_DESK,
    Desk,
    DeskError,
    MarkingForm,
    compose_why,
    experiment_label,
    form_for,
    register_cell,
)
from graders.models import COMPONENT_MAX, TOTAL_MAX, Component
from graders.reports.model import MISSING_WORDING, MarksCell
from graders.reports.pages import TEMPLATES_DIR, _environment, register_context

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MIN_TOKEN_LENGTH = 8
MAX_NAME_LENGTH = 120
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
REPORT_SUFFIXES = frozenset({".html", ".png", ".csv"})
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*")
_OPEN_ENDPOINTS = frozenset({"login"})  # reachable without the token
_SHARED_FILTERS = ("marks", "when", "day", "cell_total", "pending_marks")  # the static reports' wording


# -- binding and the token ------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (a literal loopback address or ``localhost``)."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address


def check_bind(host: str, token: str | None) -> None:
    """Refuse a desk reachable from the network without a token, or with a guessable one."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise DeskError(f"the desk token must be at least {MIN_TOKEN_LENGTH} characters long")
    if token is None and not is_loopback(host):
        raise DeskError(f"refusing to serve the desk on {host} without a token: set one, or bind to {DEFAULT_HOST}")


def _same(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so response times do not reveal the token."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _host_name(host: str) -> str:
    """The name part of a Host header (``[::1]:8765`` -> ``::1``, ``localhost:80`` -> ``localhost``)."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def script_nonce() -> str:
    """A fresh nonce for this response's own inline script (see the Content-Security-Policy)."""
    nonce = g.get("nonce")
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(16)
        g.nonce = nonce
    return nonce


# -- the app --------------------------------------------------------------------


def create_app(course: Path, *, token: str | None) -> Flask:
    """The desk over ``course`` (its gradebook must exist); with ``token``, every request needs it."""
    desk = Desk(course)
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), static_folder=None)
    app.jinja_options = {
        **app.jinja_options,
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    app.jinja_env.filters.update({name: _environment().filters[name] for name in _SHARED_FILTERS})
    app.jinja_env.filters["label"] = experiment_label
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # sessions end when the desk stops
        SESSION_COOKIE_NAME="labgrade_desk",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["labgrade_desk"] = desk

    @app.context_processor
    def _common() -> dict[str, Any]:
        return {
            "course_name": desk.name,
            "component_max": COMPONENT_MAX,
            "total_max": TOTAL_MAX,
            "csrf_token": csrf_token,
            "nonce": script_nonce,
            "signed_in": token is not None,
            "Component": Component,
            "missing_wording": MISSING_WORDING,
        }

    _guard(app, token)
    _pages(app, desk)
    _forms(app, desk)
    _login(app, token)
    return app


def _guard(app: Flask, token: str | None) -> None:
    """Host check, token check and CSRF check before every request; safe headers after it."""

    @app.before_request
    def _check() -> ResponseReturnValue | None:
        if token is None and not is_loopback(_host_name(request.host)):
            abort(400, "this desk answers only to loopback names (localhost, 127.0.0.1)")
        if token is not None and request.method == "GET" and "token" in request.args:
            if _same(request.args.get("token"), token):
                session.clear()
                session["signed_in"] = True
            if session.get("signed_in"):  # the token leaves the address bar (and the browser's history)
                args = {k: v for k, v in request.args.items(multi=False) if k != "token"}
                return redirect(request.path + (f"?{urlencode(args)}" if args else ""))
        if token is not None and not session.get("signed_in"):
            if request.endpoint not in _OPEN_ENDPOINTS:
                return _login_page(request.full_path.rstrip("?"), "", 401)
        if request.method == "POST" and not _same(request.form.get("csrf"), csrf_token()):
            abort(400, "the form did not come from this desk session (missing or stale CSRF token): reload the page")
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        nonce = script_nonce()
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(400)
    @app.errorhandler(404)
    @app.errorhandler(409)
    @app.errorhandler(413)
    def _error(exc: Any) -> ResponseReturnValue:
        return render_template("desk_error.html", code=exc.code, message=exc.description), exc.code


def local_path(target: str) -> str:
    """``target`` when it is a page of this desk, else ``/``: a sign-in never sends the examiner elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target if target.isprintable() else "/"


def _login_page(next_path: str, error: str, status: int) -> ResponseReturnValue:
    return render_template("desk_login.html", next_path=next_path, error=error), status


def _login(app: Flask, token: str | None) -> None:
    """Sign in with the token (a fresh session), sign out."""

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if token is None:
            return redirect(url_for("register"))
        next_path = local_path(request.values.get("next", "/"))
        if request.method == "GET":
            return _login_page(next_path, "", 200)
        if not _same(request.form.get("token"), token):
            return _login_page(next_path, "That token is not the desk's token.", 401)
        session.clear()
        session["signed_in"] = True
        return redirect(next_path)

    @app.route("/logout", methods=["POST"])
    def logout() -> ResponseReturnValue:
        session.clear()
        return redirect(url_for("login"))


def _pages(app: Flask, desk: Desk) -> None:
    """The register, a student's sheets and the static reports (read-only)."""

    @app.route("/")
    def register() -> ResponseReturnValue:
        marks = desk.marks()
        return render_template(
            "desk_register.html",
            columns=desk.columns(marks),
            cell=register_cell,
            **register_context(marks, _viva_href),
        )

    @app.route("/students/<roll_no>")
    def student(roll_no: str) -> ResponseReturnValue:
        marks = desk.marks(roll_no)
        if not marks.students:
            abort(404, f"roll number {roll_no} is not on the roster")
        return render_template(
            "desk_student.html", marks=marks, student=marks.students[0], marked_at_desk=MARKED_AT_DESK
        )

    @app.route("/reports/<path:name>")
    def reports(name: str) -> ResponseReturnValue:
        if Path(name).suffix not in REPORT_SUFFIXES:  # e.g. a gradebook kept beside the reports stays private
            abort(404, f"the desk serves only report pages and pictures, not {name}")
        return send_from_directory(desk.config.reports, name)


def _viva_href(cell: MarksCell) -> str:
    return url_for("mark", roll_no=cell.roll_no, experiment=cell.experiment.id, column="viva")


def _cell_or_error(desk: Desk, roll_no: str, experiment: str, column: str) -> tuple[MarksCell, Component]:
    try:
        component = Component(column)
    except ValueError:
        abort(404, f"no column {column!r}")
    if component not in MARKED_AT_DESK:
        abort(404, f"the {component.heading} column is not marked at the desk")
    cell = desk.cell(roll_no, experiment)
    if cell is None:
        abort(404, f"roll number {roll_no} has no experiment {experiment!r} on this course")
    refused = cell.refusal()
    if refused:
        abort(409, refused)
    if cell.run is None:
        abort(404, f"{experiment} of roll number {roll_no} is {cell.status_label}: nothing to mark")
    return cell, component


def _forms(app: Flask, desk: Desk) -> None:
    """The viva and answers forms: show, validate, record, re-render."""

    @app.route("/students/<roll_no>/<experiment>/<column>", methods=["GET", "POST"])
    def mark(roll_no: str, experiment: str, column: str) -> ResponseReturnValue:
        cell, component = _cell_or_error(desk, roll_no, experiment, column)
        assert cell.run is not None
        form = form_for(component, cell.run)
        if request.method == "GET":
            values = {"examiner": session.get("examiner", ""), "held_on": date.today().isoformat()}
            return _form_page(cell, form, values, {}, 200)
        marks, held_on, errors = read_marking(form, request.form)
        if errors or held_on is None:
            return _form_page(cell, form, request.form.to_dict(), errors, 400)
        who = request.form["examiner"].strip()
        note = " ".join(request.form.get("note", "").split())
        total = form.total(marks)
        try:
            entry, problem = desk.record(cell, component, total, who, compose_why(form, marks, held_on, note))
        except GradingError as exc:  # e.g. the work turned out not handed in since the form was shown
            abort(409, str(exc))
        session["examiner"] = who
        flash(
            f"{component.heading} recorded for {cell.name} ({cell.roll_no}), "
            f"{experiment_label(cell.experiment)}: {total:g} / {COMPONENT_MAX:g} by {entry.who}"
            + ("." if problem else "; the reports are re-rendered."),
            "ok",
        )
        if problem:
            flash(f"The reports could not be re-rendered ({problem}); run `labgrade report`.", "bad")
        return redirect(url_for("student", roll_no=roll_no))


def _form_page(
    cell: MarksCell, form: MarkingForm, values: dict[str, str], errors: dict[str, str], status: int
) -> ResponseReturnValue:
    return render_template("desk_form.html", sheet=cell, form=form, values=values, errors=errors), status


def _mark_value(raw: str, high: float) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 <= value <= high else None


def read_marking(form: MarkingForm, data: MultiDict[str, str]) -> tuple[list[float], date | None, dict[str, str]]:
    """Per-question marks (0..1 each, or one direct mark 0..5), the date, and what is wrong, by field name."""
    errors: dict[str, str] = {}
    who = data.get("examiner", "").strip()
    if not who:
        errors["examiner"] = "Enter the examiner's name: every override records who gave the marks."
    elif len(who) > MAX_NAME_LENGTH:
        errors["examiner"] = f"The examiner's name is longer than {MAX_NAME_LENGTH} characters."
    fields = [(f"q{i}", f"question {i}", 1.0) for i in range(1, len(form.items) + 1)] or [
        ("direct", "the mark", COMPONENT_MAX)
    ]
    marks: list[float] = []
    for name, label, high in fields:
        raw = data.get(name, "").strip()
        value = _mark_value(raw, high) if raw else None
        if value is None:
            got = f" (got {raw!r})." if raw else " (0 if not answered)."
            errors[name] = f"Give {label} a mark from 0 to {high:g}{got}"
        else:
            marks.append(value)
    try:
        held_on: date | None = date.fromisoformat(data.get("held_on", "").strip())
    except ValueError:
        held_on = None
        errors["held_on"] = "Give the date the marks were given (YYYY-MM-DD)."
    return marks, held_on, errors


# -- serving --------------------------------------------------------------------


class _RedactingHandler(WSGIRequestHandler):
    """The request log without the token of a ``?token=`` sign-in."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requestline = _TOKEN_IN_QUERY.sub(r"\1…", self.requestline)
        super().log_request(code, size)


def check_port(host: str, port: int) -> None:
    """Refuse a port outside 1..65535, or one another program holds, before the web server would (it prints its
    own lines and exits, or takes a port of 65536 and more modulo 65536)."""
    if not 1 <= port <= 65535:
        raise DeskError(f"--port {port} is not a TCP port (1 to 65535)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise DeskError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(course: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None) -> None:
    """Serve the desk until interrupted; refuses a network address without a token, a bad or busy port (one-line
    DeskError)."""
    check_bind(host, token)
    check_port(host, port)
    app = create_app(course, token=token)
    try:
        server = make_server(host, port, app, threaded=True, request_handler=_RedactingHandler)
    except (OSError, SystemExit) as exc:  # the web server exits on a port taken since the check
        raise DeskError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or 'in use'}") from None
    shown = f"[{host}]" if ":" in host else host
    print(
        f"examiners' desk for {app.extensions['labgrade_desk'].name}: http://{shown}:{server.server_port}/"
        + (" (sign in with the desk token)" if token else ""),
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
