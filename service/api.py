"""The one home for API customisation: thin subclasses of flask-smorest's ``Api``, ``Blueprint`` and
marshmallow's ``Schema`` (after the flask-smorest maintainer's example), and RFC 9457 problems.

Feature modules import ``Api``/``Blueprint``/``Schema`` from here, never from flask-smorest directly.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Schema(ma.Schema):
    """Base schema: unknown fields are an error (a typo must not be silently dropped)."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class ProblemSchema(Schema):
    """RFC 9457 problem details (documentation of every error response)."""

    type = ma.fields.String(metadata={"example": "about:blank"})
    title = ma.fields.String(metadata={"example": "Not Found"})
    status = ma.fields.Integer(metadata={"example": 404})
    detail = ma.fields.String(metadata={"example": "'15.08.14.9999': desa tidak ditemukan / village not found"})
    errors = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Per-field problems: {field, location, message}"},
    )


def problem(status: int, detail: str, *, field: str | None = None, location: str | None = None,
            title: str | None = None, headers: dict[str, str] | None = None) -> NoReturn:
    """Abort the request with a problem+json naming the field at fault."""
    errors = [{"field": field, "location": location or "json", "message": detail}] if field else None
    flask_smorest.abort(status, message=detail, errors=errors, title=title, headers=headers)


def problem_response(status: int, title: str, detail: str | None = None,
                     errors: list[dict[str, Any]] | None = None, headers: dict | None = None):
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    if headers:
        response.headers.update(headers)
    return response


def _flatten_validation(messages: dict[str, Any]) -> list[dict[str, Any]]:
    """webargs' ``{location: {field: [msg]}}`` → ``[{field, location, message}]``."""
    out = []
    for location, fields in messages.items():
        if not isinstance(fields, dict):
            out.append({"field": None, "location": location, "message": str(fields)})
            continue
        for field, msgs in fields.items():
            for msg in msgs if isinstance(msgs, list) else [msgs]:
                out.append({"field": field, "location": location, "message": str(msg)})
    return out


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = data.get("errors")
        if errors is None and "messages" in data:
            errors = _flatten_validation(data["messages"])
        detail = data.get("message")
        if detail is None and errors:
            first = errors[0]
            detail = f"{first.get('field')}: {first.get('message')}"
        if detail is None and error.code != 500:
            detail = error.description
        return problem_response(
            error.code or 500, data.get("title") or error.name, detail, errors, data.get("headers")
        )

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(Exception, self._handle_unexpected)

    def _handle_unexpected(self, error: Exception):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "Internal Server Error", "kesalahan server / server error")


class Blueprint(flask_smorest.Blueprint):
    """Feature blueprints. ``desa_scoped=True`` routes live under ``<url_prefix>/desa/<kode>``: the desa is resolved
    once, before the view, and the view reaches its data only through :func:`service.tenancy.desa_db`."""

    def __init__(self, name: str, import_name: str, *, desa_scoped: bool = False, region_scoped: bool = False,
                 **kwargs):
        if desa_scoped:
            kwargs["url_prefix"] = kwargs.get("url_prefix", "") + "/desa/<kode>"
        if region_scoped:  # a kecamatan or kabupaten workspace: the policy checks the code, no desa is entered
            kwargs["url_prefix"] = kwargs.get("url_prefix", "") + "/wilayah/<wilayah>"
        super().__init__(name, import_name, **kwargs)
        self.desa_scoped = desa_scoped
        self.region_scoped = region_scoped
        if desa_scoped:
            from service.tenancy import take_desa_kode

            self.url_value_preprocessor(take_desa_kode)
        if region_scoped:
            from service.tenancy import take_region_kode

            self.url_value_preprocessor(take_region_kode)

    def requires(self, *roles: str, warga: bool = False, clients: tuple[str, ...] = (),
                 any_principal: bool = False, pin_change: bool = False):
        """Declare who may call the view (checked by :mod:`service.auth.policy`, documented in OpenAPI)."""
        from service.auth.policy import Policy
        from service.auth.roles import Peran

        policy = Policy(roles=tuple(Peran(r) for r in roles), warga=warga, client_scopes=tuple(clients),
                        any_principal=any_principal, pin_change=pin_change)
        security: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"cookieAuth": []}]
        if clients:
            security.append({"oauth2": list(clients)})

        def decorator(fn):
            fn._kawasan_policy = policy
            extension = {"roles": [r.value for r in policy.roles], "warga": policy.warga,
                         "clients": list(policy.client_scopes), "any_principal": policy.any_principal,
                         "desa_scoped": self.desa_scoped, "region_scoped": self.region_scoped}
            fn = self.doc(security=security, description=policy.describe(), **{"x-kawasan-policy": extension})(fn)
            fn = self.alt_response(401, description="Not signed in, or the token is invalid")(fn)
            return self.alt_response(403, description="Signed in, but not allowed here")(fn)

        return decorator

    def public(self, fn):
        """Declare the view open to everyone."""
        from service.auth.policy import PUBLIC

        fn._kawasan_policy = PUBLIC
        return self.doc(security=[])(fn)


def register_api(app: Flask) -> Api:
    api = Api(app, spec_kwargs={
        "info": {
            "description": (
                "Kawasan: Sistem Informasi Desa & Kawasan. Errors are RFC 9457 problem+json. "
                "Region codes are accepted dotted (15.08.14.2001) or as 10 digits (1508142001)."
            )
        },
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    api.spec.components.security_scheme(
        "cookieAuth", {"type": "apiKey", "in": "cookie", "name": "kawasan_session",
                       "description": "Portal session; unsafe methods also need the X-CSRF-Token header"}
    )
    api.spec.components.security_scheme(
        "oauth2", {"type": "oauth2", "flows": {
            "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": OAUTH_SCOPES},
            "authorizationCode": {"authorizationUrl": "/oauth/authorize", "tokenUrl": "/oauth/token",
                                  "scopes": OAUTH_SCOPES},
        }}
    )
    return api


#: Scopes an integration can be given (clients act within the desa or kecamatan they are bound to).
OAUTH_SCOPES = {
    "desa:read": "Read public and administrative data of the bound desa/kecamatan",
    "penduduk:read": "Read the population register (personal data; audited)",
    "audit:read": "Read the audit log of the bound desa",
}
