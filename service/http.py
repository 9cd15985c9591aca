"""HTTP hygiene for every response: security headers, and CORS closed unless configured."""

from __future__ import annotations

from flask import Flask, Response, current_app, request


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    )
    if request.path.startswith(("/api/", "/oauth/")) and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    settings = current_app.extensions["kawasan"].settings
    if settings.is_production:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    origin = request.headers.get("Origin")
    if origin and origin in settings.cors_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
        headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-Match, X-CSRF-Token"
        headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
    return response


def register_http(app: Flask) -> None:
    app.after_request(add_security_headers)
