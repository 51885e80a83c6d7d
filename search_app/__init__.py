"""The read side: a Flask application factory serving search pages and the JSON API."""

from __future__ import annotations

import logging

from flask import Flask

from archive.config import Config, load_config
from archive.services import Archive

# The pages load nothing from elsewhere and run no inline script: say so to the browser.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

MAX_FORM_FIELD_BYTES = 64 * 1024


def security_headers(response):
    """On every response, API and error pages included."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def create_app(config: Config | None = None) -> Flask:
    """Build the app; the backend and the embedder are created on first use, not here."""
    config = config or load_config()
    app = Flask(__name__)
    # Served by waitress, never by the Werkzeug debugger: FLASK_DEBUG in the environment must not
    # switch on debug behaviour (template reloading, debug-only error paths).
    app.debug = False
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload_mb * 1024 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM_FIELD_BYTES  # a form field (metadata) in memory
    app.config["MAX_FORM_PARTS"] = 16  # an upload has two parts
    app.jinja_env.globals["public_url"] = config.public_url  # links in pages, never from the Host header
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["archive"] = Archive(config)

    from search_app import auth
    from search_app.api import api
    from search_app.errors import register_error_handlers
    from search_app.web import web

    app.register_blueprint(api)
    app.register_blueprint(web)
    register_error_handlers(app)
    auth.init_app(app)
    app.after_request(security_headers)
    logging.getLogger(__name__).debug("app created for backend %s", config.backend)
    return app
