"""`kawasan users`, `kawasan warga pin`, `kawasan keys` as an operator runs them."""

import uuid

from sqlalchemy import text


def test_users_create_list_grant_revoke(cli, engine):
    username = f"rio_{uuid.uuid4().hex[:6]}"
    created = cli("users", "create", "--username", username, "--name", "Rio Uji", "--role", "kepala_desa",
                  "--scope", "1508142001", input="kata-sandi-rahasia\n")
    assert created.returncode == 0, created.stderr
    assert "kepala_desa@15.08.14.2001" in created.stdout and "shown once" not in created.stdout
    assert "kata-sandi-rahasia" not in created.stdout + created.stderr
    listed = cli("users", "list")
    line = next(row for row in listed.stdout.splitlines() if row.startswith(username))
    assert "Rio Uji" in line and "kepala_desa@15.08.14.2001" in line
    assert cli("users", "grant", username, "--role", "camat", "--scope", "15.08.14").returncode == 0
    assert cli("users", "revoke", username, "--role", "kepala_desa", "--scope", "15.08.14.2001").returncode == 0
    line = next(row for row in cli("users", "list").stdout.splitlines() if row.startswith(username))
    assert "camat@15.08.14" in line and "kepala_desa" not in line
    with engine.connect() as conn:
        actions = set(conn.scalars(text("SELECT aksi FROM kawasan.audit_log WHERE objek = (SELECT 'staff:' || id "
                                        "FROM kawasan.akun WHERE username = :u)"), {"u": username}))
    assert {"peran_diberikan", "peran_dicabut"} <= actions


def test_generated_password_is_printed_once_and_works(cli, client):
    username = f"op_{uuid.uuid4().hex[:6]}"
    created = cli("users", "create", "--username", username, "--role", "operator_desa", "--scope", "15.08.14.2003")
    assert created.returncode == 0, created.stderr
    password = created.stdout.split("password (shown once): ")[1].strip()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200


def test_role_at_the_wrong_level_is_refused(cli):
    for role, scope in (("camat", "15.08.14.2001"), ("operator_desa", "15.08"), ("kepala_desa", "15.8"),
                        ("raja", "15.08")):
        result = cli("users", "create", "--username", f"x_{uuid.uuid4().hex[:6]}", "--role", role, "--scope", scope)
        assert result.returncode == 2
        assert role in result.stderr or scope in result.stderr


def test_warga_pin_reads_the_nik_from_stdin(cli, client, make_family):
    [(nik, _, _)] = make_family(size=1)
    issued = cli("warga", "pin", "--desa", "1508142001", input=f"{nik}\n")
    assert issued.returncode == 0, issued.stderr
    pin = issued.stdout.strip().split()[-1]
    assert len(pin) == 6 and nik not in issued.stdout + issued.stderr
    body = client.post("/api/v1/auth/login", json={"desa": "15.08.14.2001", "nik": nik, "pin": pin}).get_json()
    assert body["pin_change_required"] is True
    unknown = cli("warga", "pin", "--desa", "15.08.14.2001", input="1508140101010009\n")
    assert unknown.returncode == 2 and "NIK" in unknown.stderr
    assert cli("warga", "pin", "--desa", "15.08.14.2001", input="12345\n").returncode == 2


def test_keys_rotate(cli, client):
    before = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    rotated = cli("keys", "rotate")
    assert rotated.returncode == 0
    assert rotated.stdout.split()[-1] not in before


def test_clients_create_prints_the_secret_once_and_it_works(cli, client):
    created = cli("clients", "create", "--name", "OpenSID Muara Buat", "--scope", "15.08.14.2001",
                  "--grant", "client_credentials", "--scopes", "desa:read,audit:read")
    assert created.returncode == 0, created.stderr
    client_id = created.stdout.split("client_id: ")[1].split()[0]
    secret = created.stdout.split("client_secret (shown once): ")[1].strip()
    token = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "desa:read"},
                        auth=(client_id, secret))
    assert token.status_code == 200, token.get_json()
    bad = cli("clients", "create", "--name", "x", "--scope", "15.08", "--grant", "client_credentials",
              "--scopes", "desa:read")
    assert bad.returncode == 2 and "15.08" in bad.stderr
