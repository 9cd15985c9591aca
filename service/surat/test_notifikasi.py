"""Telling residents about their letters, against real servers: a local SMTP server (aiosmtpd) and a local
HTTP server as the desa's webhook receiver. A letter goes through to issue; the ``surat.kabar`` job then
POSTs a signed JSON event to the webhook, mails the resident, and the in-app list shows the notification.

Jobs run in this process (the relay and RQ's SimpleWorker) on a **private Redis database**: the embedded
Redis is shared by every test session on the machine, and another session's relay or demo worker would
otherwise flush or take these jobs (their ids ``outbox-<id>`` are only unique per database).

SMTP is configured by swapping the process runtime's (frozen) ``Settings`` for a copy made with
``dataclasses.replace`` (``monkeypatch`` restores it): the job reads ``get_runtime().settings`` at run time,
and the Flask app shares that same runtime object.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy import text

from tenants.session import DesaSession
from tests.fixtures import bearer

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

DESA = "15.08.14.2008"  # a desa no other surat test uses: its webhook settings must not leak into them
BASE = f"/api/v1/desa/{DESA}/surat"
SECRET = "rahasia-webhook-uji"


# --- a private queue: relay and in-process worker on a Redis database of their own ------------------------


@pytest.fixture
def private_redis(runtime):
    base = runtime.redis.connection_pool
    db = random.randint(1, 15)
    connection = redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=base.connection_class,
                                             **{**base.connection_kwargs, "db": db})
    )
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def jobs(runtime, private_redis):
    """``jobs.run()``: one relay pass, then every queued job in this process (SimpleWorker, burst)."""
    from rq import SimpleWorker

    from workers.queues import QUEUES, queue
    from workers.relay import Relay

    relay = Relay(runtime.engine, private_redis, redeliver_after=1.0, poll_interval=0.2)

    class Jobs:
        @staticmethod
        def run() -> int:
            enqueued = relay.run_once()
            SimpleWorker([queue(q, private_redis) for q in QUEUES], connection=private_redis).work(burst=True)
            return enqueued

    Jobs.run()  # the backlog other tests left behind
    return Jobs


# --- the receivers ---------------------------------------------------------------------------------------


class Mailbox:
    def __init__(self):
        self.messages: list[dict] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "data": envelope.content.decode("utf-8", "replace")})
        self.arrived.set()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


class Webhook:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(hook.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if hook.status < 400 else b'{"error": "boom"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kawasan/kabar"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def webhook():
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def desa_webhook(engine, webhook):
    """The desa's pengaturan point at the local receiver; removed afterwards (later kabar jobs then skip it)."""

    def put(session, key, value):
        session.execute(text("INSERT INTO pengaturan (kunci, nilai) VALUES (:k, CAST(:v AS jsonb)) "
                             "ON CONFLICT (kunci) DO UPDATE SET nilai = EXCLUDED.nilai"),
                        {"k": key, "v": json.dumps(value)})

    with DesaSession(engine, DESA) as session:
        put(session, "webhook_url", webhook.url)
        put(session, "webhook_secret", SECRET)
        session.commit()
    yield webhook
    with DesaSession(engine, DESA) as session:
        session.execute(text("DELETE FROM pengaturan WHERE kunci IN ('webhook_url', 'webhook_secret')"))
        session.commit()


@pytest.fixture
def smtp_settings(runtime, app, smtp_server, monkeypatch):
    """SMTP on for this test: the runtime's frozen Settings replaced by a modified copy, restored afterwards.

    Depends on ``app`` so the app exists before the swap (``create_app(settings)`` builds a new runtime when
    handed settings other than the current ones).
    """
    settings = dataclasses.replace(runtime.settings, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                                   smtp_from="kawasan@bungo.test")
    monkeypatch.setattr(runtime, "settings", settings)
    return settings


# --- the flow --------------------------------------------------------------------------------------------


@pytest.fixture
def warga(client, engine, make_family):
    nik, pin, penduduk_id = make_family(desa=DESA, size=1)[0]
    email = f"warga.{nik[-6:]}@contoh.test"
    with DesaSession(engine, DESA) as session:
        session.execute(text("UPDATE penduduk SET email = :e WHERE id = :i"), {"e": email, "i": penduduk_id})
        session.commit()
    token = client.post("/api/v1/auth/login", json={"desa": DESA, "nik": nik, "pin": pin}).get_json()["access_token"]
    return {"headers": bearer(token), "email": email, "penduduk_id": penduduk_id}


@pytest.fixture
def staff(token_for):
    return {
        "operator": bearer(token_for(("operator_desa", DESA))),
        "sekdes": bearer(token_for(("sekdes", DESA))),
        "rio": bearer(token_for(("kepala_desa", DESA))),
    }


def _request_and_issue(client, warga, staff) -> dict:
    created = client.post(f"{BASE}/permohonan", headers=warga["headers"],
                          json={"jenis": "DOM", "isian": {"keperluan": "melamar kerja"}})
    assert created.status_code == 201, created.get_json()
    pid = created.get_json()["id"]
    for who, action in (("operator", "verifikasi"), ("sekdes", "verifikasi"), ("rio", "tandatangani")):
        response = client.post(f"{BASE}/permohonan/{pid}/{action}", headers=staff[who])
        assert response.status_code == 200, (who, response.get_json())
    issued = response.get_json()
    assert issued["status"] == "Siap Diambil" and issued["nomor"]
    return issued


def _events(engine, pid: str):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM kawasan.outbox WHERE topic = 'surat.kabar' "
                                 "AND payload->>'permohonan' = :p ORDER BY id"), {"p": pid}).all()


def test_issued_letter_reaches_webhook_email_and_in_app_list(client, engine, warga, staff, desa_webhook,
                                                             smtp_server, smtp_settings, jobs):
    issued = _request_and_issue(client, warga, staff)
    pid = issued["id"]
    jobs.run()

    events = _events(engine, pid)
    # Two status changes told: "waiting for the signature" (to the Rio) and "ready for pick-up" (to the warga).
    assert [e.payload["status"] for e in events] == ["Menunggu Tandatangan", "Siap Diambil"]
    assert all(e.status == "done" for e in events), [(e.status, e.last_error) for e in events]
    assert events[-1].result == {"webhook": 200, "email": True}

    # Webhook: JSON with event/status/permohonan, signed with HMAC-SHA256 of the exact body.
    mine = [r for r in desa_webhook.requests if json.loads(r["body"])["permohonan"] == pid]
    assert len(mine) == 2
    ready = next(r for r in mine if json.loads(r["body"])["status"] == "Siap Diambil")
    body = json.loads(ready["body"])
    assert body["event"] == "surat.status" and body["desa"] == DESA and body["jenis"] == "DOM"
    assert body["nomor"] == issued["nomor"]
    assert ready["headers"]["Content-Type"] == "application/json"
    expected = hmac.new(SECRET.encode(), ready["body"], hashlib.sha256).hexdigest()
    signature = ready["headers"]["X-Kawasan-Signature"]
    assert signature.startswith("sha256=") and hmac.compare_digest(signature, f"sha256={expected}")
    forged = hmac.new(b"another-secret", ready["body"], hashlib.sha256).hexdigest()
    assert signature != f"sha256={forged}"

    # Email: to the resident, from the configured sender, naming the status (and the letter's number).
    assert smtp_server.arrived.wait(5)
    to_warga = [m for m in smtp_server.messages if m["to"] == [warga["email"]]]
    assert to_warga, smtp_server.messages
    ready_mail = next(m for m in to_warga if "Siap Diambil" in m["data"])
    assert ready_mail["from"] == "kawasan@bungo.test"
    assert "Subject: [Kawasan] Surat siap diambil" in ready_mail["data"]
    assert issued["nomor"] in ready_mail["data"]

    # In-app: the warga's list shows it (the Rio's "waiting for signature" is not the warga's).
    listed = client.get(f"{BASE}/notifikasi", headers=warga["headers"])
    assert listed.status_code == 200
    titles = [n["judul"] for n in listed.get_json()]
    assert "Surat siap diambil" in titles and "Surat menunggu tanda tangan" not in titles
    first = next(n for n in listed.get_json() if n["judul"] == "Surat siap diambil")
    assert first["isi"] == issued["nomor"] and first["dibaca"] is False
    rio = client.get(f"{BASE}/notifikasi", headers=staff["rio"]).get_json()
    assert "Surat menunggu tanda tangan" in [n["judul"] for n in rio]


def test_a_failing_webhook_keeps_the_event_pending_with_backoff(client, engine, warga, staff, desa_webhook,
                                                                jobs):
    desa_webhook.status = 500
    pid = _request_and_issue(client, warga, staff)["id"]
    jobs.run()

    assert len([r for r in desa_webhook.requests if json.loads(r["body"])["permohonan"] == pid]) == 2
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, attempts, last_error, enqueued_at, available_at > now() AS later, "
                                 "available_at - now() AS wait FROM kawasan.outbox WHERE topic = 'surat.kabar' "
                                 "AND payload->>'permohonan' = :p ORDER BY id"), {"p": pid}).all()
    assert len(rows) == 2
    for row in rows:
        assert row.status == "pending" and row.attempts == 1
        assert "HTTP Error 500" in row.last_error
        assert row.enqueued_at is None and row.later  # backed off: 2^1 s
        assert row.wait.total_seconds() <= 2.5
    # The in-app notification was written with the change, whatever the webhook does.
    titles = [n["judul"] for n in client.get(f"{BASE}/notifikasi", headers=warga["headers"]).get_json()]
    assert "Surat siap diambil" in titles
    # Not due yet: another pass runs nothing for these events.
    jobs.run()
    assert len([r for r in desa_webhook.requests if json.loads(r["body"])["permohonan"] == pid]) == 2

    # The receiver recovers; once due, the retry delivers and the event is done.
    desa_webhook.status = 200
    with engine.begin() as conn:
        conn.execute(text("UPDATE kawasan.outbox SET available_at = now() WHERE topic = 'surat.kabar' "
                          "AND payload->>'permohonan' = :p"), {"p": pid})
    jobs.run()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, attempts, last_error FROM kawasan.outbox "
                                 "WHERE topic = 'surat.kabar' AND payload->>'permohonan' = :p"), {"p": pid}).all()
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [("done", 2, None)] * 2
