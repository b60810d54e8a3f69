"""The examiners' desk: a local web app to mark vivas and answers into the gradebook as overrides.

create_app(course, token=...)       the Flask app (for tests and WSGI servers)
serve(course, host, port, token)    serve it (loopback unless a token is set)
"""

from __future__ import annotations

from graders.desk.app import DEFAULT_HOST, DEFAULT_PORT, check_bind, create_app, serve
from graders.desk.sheets import Desk, DeskError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Desk", "DeskError", "check_bind", "create_app", "serve"]
