"""Application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, send_from_directory

from service.api import register_api
from service.auth.keys import KeyRing
from service.auth.policy import PUBLIC, authorize_request, check_every_endpoint_declares_a_policy
from service.auth.services import AuthRuntime
from service.auth.tokens import TokenService
from service.config import Settings
from service.http import register_http
from service.runtime import configure_logging, get_runtime
from service.tenancy import close_desa_db


def BLUEPRINTS() -> list:  # noqa: N802 - a registry, read like a constant
    """Every API blueprint, in registration order (feature modules add theirs here)."""
    from service.audit.resources import blp as audit_blp
    from service.audit.resources import desa_blp as audit_desa_blp
    from service.auth.resources import blp as auth_blp
    from service.auth.resources import mandiri as mandiri_blp
    from service.auth.resources import wellknown as jwks_blp
    from service.desa.resources import blp as desa_list_blp
    from service.desa.resources import desa_blp
    from service.health.resources import blp as health_blp
    from service.idm.resources import blp as idm_blp
    from service.idm.resources import skema_blp as idm_skema_blp
    from service.penduduk.impor_resources import blp as penduduk_impor_blp
    from service.penduduk.laporan_resources import blp as penduduk_laporan_blp
    from service.penduduk.resources import blp as penduduk_blp
    from service.penduduk.resources import referensi_blp
    from service.peta.resources import blp as peta_blp
    from service.peta.resources import publik_blp as peta_publik_blp
    from service.rekap.resources import admin_blp as rekap_admin_blp
    from service.rekap.resources import blp as rekap_blp
    from service.surat.pengaturan_resources import blp as surat_pengaturan_blp
    from service.surat.pengaturan_resources import kabupaten_blp as surat_katalog_kabupaten_blp
    from service.surat.resources import blp as surat_blp
    from service.surat.resources import inbox_blp, verify_blp

    return [health_blp, desa_list_blp, desa_blp, auth_blp, jwks_blp, mandiri_blp, audit_blp, audit_desa_blp,
            penduduk_blp, penduduk_impor_blp, penduduk_laporan_blp, referensi_blp, surat_blp, inbox_blp,
            surat_pengaturan_blp, surat_katalog_kabupaten_blp, verify_blp, idm_blp, idm_skema_blp, peta_blp,
            peta_publik_blp, rekap_blp, rekap_admin_blp]


def PORTAL_BLUEPRINTS() -> list:  # noqa: N802 - a registry, read like a constant
    """Every portal (HTML page) blueprint: :class:`service.portal.web.PortalBlueprint`, registered on the app
    (not the Api, so pages stay out of OpenAPI) and checked by the same policy layer."""
    from service.portal.dasbor import kabupaten as portal_dasbor_kabupaten_bp
    from service.portal.dasbor import kecamatan as portal_dasbor_kecamatan_bp
    from service.portal.kabupaten import bp as portal_kabupaten_bp
    from service.portal.kecamatan import bp as portal_kecamatan_bp
    from service.portal.laporan import bp as portal_laporan_bp
    from service.portal.mandiri import bp as portal_mandiri_bp
    from service.portal.masuk import bp as portal_masuk_bp
    from service.portal.penduduk import bp as portal_penduduk_bp
    from service.portal.pengaturan import bp as portal_pengaturan_bp
    from service.portal.surat import bp as portal_surat_bp
    from service.situs.resources import bp as situs_bp
    from service.situs.resources import kelola as situs_kelola_bp

    return [portal_masuk_bp, portal_surat_bp, portal_mandiri_bp, portal_kecamatan_bp, portal_kabupaten_bp,
            situs_bp, situs_kelola_bp, portal_penduduk_bp, portal_pengaturan_bp, portal_dasbor_kecamatan_bp,
            portal_dasbor_kabupaten_bp, portal_laporan_bp]


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
        # Uploads (register imports, letter attachments) are refused above this before being read.
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,
    )
    app.config.update(
        SESSION_COOKIE_NAME="kawasan_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=runtime.settings.is_production,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
    )
    app.extensions["kawasan"] = runtime
    keyring = KeyRing(runtime.engine, runtime.settings.secret_key)
    app.extensions["kawasan_auth"] = AuthRuntime(
        keyring=keyring, tokens=TokenService(keyring, runtime.redis, runtime.settings.issuer)
    )
    api = register_api(app)
    # Order matters: URL preprocessors (desa code) run first, then the one policy check.
    app.before_request(authorize_request)
    register_http(app)

    for blueprint in BLUEPRINTS():
        api.register_blueprint(blueprint)
    for blueprint in PORTAL_BLUEPRINTS():
        app.register_blueprint(blueprint)
    from service.auth.oauth import init_oauth

    init_oauth(app)  # RFC 6749 token/authorize, 7009 revocation, 7662 introspection, 8414 metadata
    app.teardown_appcontext(close_desa_db)

    @app.get("/api/v1/docs/assets/<path:filename>")
    @public
    def swagger_assets(filename: str):
        import swagger_ui_bundle

        return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), filename, max_age=86400)

    # "/" is the portal's front page (service/portal/masuk.py): HTML for browsers, this JSON index for API clients.

    check_every_endpoint_declares_a_policy(app)
    return app


def public(fn):
    """Mark a plain Flask view (outside the API blueprints) as open to everyone."""
    fn._kawasan_policy = PUBLIC
    return fn
