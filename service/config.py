"""Settings read from the environment, in one place.

Every process (web, worker, relay, CLI) builds its settings with :func:`load_settings`; nothing else
reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    #: ``DATABASE_URL``; ``None`` means the embedded PostgreSQL under ``data_dir``.
    database_url: str | None = None
    #: ``REDIS_URL``; ``None`` means the embedded Redis under ``data_dir``.
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".kawasan").resolve())
    #: ``development`` or ``production``.
    env: str = "development"
    secret_key: str = "dev-only-not-secret"
    #: Name of the shared (non-tenant) PostgreSQL schema.
    shared_schema: str = "kawasan"
    #: Directory holding the Alembic trees ``shared/`` and ``tenant/``; overridable for tests.
    migrations_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "migrations")
    #: Seconds after which the relay re-enqueues an outbox event whose job vanished or stalled.
    outbox_redeliver_after: float = 30.0
    #: Seconds between relay polls when no NOTIFY arrives.
    relay_poll_interval: float = 5.0
    log_level: str = "INFO"
    #: Origins allowed to call the API from a browser (``KAWASAN_CORS_ORIGINS``, comma-separated).
    cors_origins: tuple[str, ...] = ()
    #: ``iss`` of the tokens this deployment signs.
    issuer: str = "kawasan"
    #: Outgoing mail for notifications (``KAWASAN_SMTP_HOST``; unset: no email).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "kawasan@localhost"
    #: Public base URL (QR codes on letters point at ``<public_url>/verifikasi/<token>``).
    public_url: str = "http://127.0.0.1:8000"
    #: Tile URL template of the dashboards' maps (``KAWASAN_MAP_TILES``, e.g. ``https://tile.example/{z}/{x}/{y}.png``);
    #: empty: no tile layer, the villages' points over the region's outline (nothing is fetched from elsewhere).
    map_tiles: str = ""
    #: Attribution the tile provider requires (``KAWASAN_MAP_TILES_ATTRIBUTION``, HTML shown in the map's corner).
    map_tiles_attribution: str = ""

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def load_settings(**overrides) -> Settings:
    env = os.environ
    values = {
        "database_url": env.get("DATABASE_URL") or None,
        "redis_url": env.get("REDIS_URL") or None,
        "data_dir": Path(env.get("KAWASAN_DATA_DIR", ".kawasan")).resolve(),
        "env": env.get("KAWASAN_ENV", "development"),
        "secret_key": env.get("KAWASAN_SECRET_KEY", "dev-only-not-secret"),
        "log_level": env.get("KAWASAN_LOG_LEVEL", "INFO"),
    }
    if env.get("KAWASAN_CORS_ORIGINS"):
        values["cors_origins"] = tuple(o.strip() for o in env["KAWASAN_CORS_ORIGINS"].split(",") if o.strip())
    if env.get("KAWASAN_SMTP_HOST"):
        values["smtp_host"] = env["KAWASAN_SMTP_HOST"]
        values["smtp_port"] = int(env.get("KAWASAN_SMTP_PORT", "25"))
        values["smtp_from"] = env.get("KAWASAN_SMTP_FROM", "kawasan@localhost")
    if env.get("KAWASAN_PUBLIC_URL"):
        values["public_url"] = env["KAWASAN_PUBLIC_URL"]
    if env.get("KAWASAN_MAP_TILES"):
        values["map_tiles"] = env["KAWASAN_MAP_TILES"].strip()
        values["map_tiles_attribution"] = env.get("KAWASAN_MAP_TILES_ATTRIBUTION", "").strip()
    if env.get("KAWASAN_ISSUER"):
        values["issuer"] = env["KAWASAN_ISSUER"]
    if env.get("KAWASAN_MIGRATIONS_DIR"):
        values["migrations_dir"] = Path(env["KAWASAN_MIGRATIONS_DIR"]).resolve()
    if env.get("KAWASAN_OUTBOX_REDELIVER_AFTER"):
        values["outbox_redeliver_after"] = float(env["KAWASAN_OUTBOX_REDELIVER_AFTER"])
    if env.get("KAWASAN_RELAY_POLL_INTERVAL"):
        values["relay_poll_interval"] = float(env["KAWASAN_RELAY_POLL_INTERVAL"])
    values.update(overrides)
    settings = Settings(**values)
    if settings.is_production and settings.secret_key == "dev-only-not-secret":
        raise RuntimeError("KAWASAN_SECRET_KEY must be set when KAWASAN_ENV=production")
    return settings
