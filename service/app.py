"""Application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, send_from_directory

from service.api import register_api
from service.config import Settings
from service.runtime import configure_logging, get_runtime
from service.tenancy import close_desa_db


def create_app(settings: Settings | None = None) -> Flask:
    runtime = get_runtime(settings)
    configure_logging(runtime.settings.log_level)
    app = Flask("kawasan")
    app.config.update(
        SECRET_KEY=runtime.settings.secret_key,
        API_TITLE="Kawasan API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Swagger UI assets are served from the installed swagger-ui-bundle, never from a CDN.
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        JSON_SORT_KEYS=False,
    )
    app.extensions["kawasan"] = runtime
    api = register_api(app)

    from service.desa.resources import blp as desa_list_blp
    from service.desa.resources import desa_blp
    from service.health.resources import blp as health_blp

    for blueprint in (health_blp, desa_list_blp, desa_blp):
        api.register_blueprint(blueprint)
    app.teardown_appcontext(close_desa_db)

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        import swagger_ui_bundle

        return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), filename, max_age=86400)

    @app.get("/")
    def index():
        return {
            "name": "Kawasan",
            "api": "/api/v1/openapi.json",
            "docs": "/api/v1/docs",
            "desa": "/api/v1/desa",
        }

    return app
