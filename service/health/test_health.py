from sqlalchemy import text


def test_healthz_says_the_process_is_up(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_checks_postgres_redis_and_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"postgres": "ok", "redis": "ok", "migrations": "ok"}


def test_readyz_is_503_when_shared_migrations_are_behind(client, engine):
    with engine.begin() as conn:
        current = conn.scalar(text("SELECT version_num FROM kawasan.alembic_version"))
        conn.execute(text("UPDATE kawasan.alembic_version SET version_num = 'older'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "older" in response.get_json()["checks"]["migrations"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE kawasan.alembic_version SET version_num = :v"), {"v": current})
