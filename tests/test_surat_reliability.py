"""Layanan surat under failure, in real processes (``kawasan worker`` and ``kawasan relay``).

1. Forwarding to the kecamatan survives a worker SIGKILLed mid-job and a FLUSHALLed Redis: every request
   reaches the kecamatan inbox exactly once.
2. Camat decisions survive a PostgreSQL restart while a decision job and a relay pass are both in flight:
   worker and relay recover by themselves and every decision reaches its desa exactly once.

The desa steps run through ``service.surat.services`` on the fresh database's engine; the decisions go
through the HTTP API of an app built on the fresh database (the process-wide runtime is restored after).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import Engine, make_url, text

from tests.fixtures import ROOT, bearer, kill_process_tree, new_nik, new_no_kk, nik_birth_date

pytestmark = pytest.mark.slow

KEC = "15.08.14"
DESAS = ("15.08.14.2001", "15.08.14.2002")
PER_DESA = 10
JENIS = "S-04"  # Surat Keterangan Pindah Antar Kecamatan: chain "kecamatan", no kabupaten step
KLASIFIKASI = "400.12.2.2"  # its classification code (the per-classification number sequence)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BASE_URL = "http://kawasan.test"


# --- processes ------------------------------------------------------------------------------------------


class Backbone:
    """A worker and a relay as subprocesses; stderr goes to files (a full pipe would stall them)."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs, self.generation = env, logs, 0
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        self.generation += 1
        for name in ("worker", "relay"):
            with (self.logs / f"{name}-{self.generation}.log").open("wb") as log:
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "service.cli", name], cwd=ROOT, env=self.env,
                    start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
                )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        for proc in self.procs.values():
            kill_process_tree(proc, sig)

    def assert_alive(self, when: str) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = (self.logs / f"{name}-{self.generation}.log").read_text(errors="replace")
                raise AssertionError(f"`kawasan {name}` exited (rc={proc.returncode}) {when}; "
                                     f"it must recover by itself. Its stderr ends with:\n{log[-4000:]}")


def _wait_for(predicate: Callable, timeout: float, what: str, backbone: Backbone | None = None, when: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backbone is not None:
            backbone.assert_alive(when)
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _blocked_on_lock(engine: Engine, like: str) -> int | None:
    """A backend of this database waiting for a lock while running a statement matching ``like``."""
    with engine.connect() as conn:  # a new transaction each time: pg_stat_activity is a snapshot
        return conn.scalar(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock' AND query LIKE :like LIMIT 1"), {"like": like})


# --- the desa side, through the service functions --------------------------------------------------------


def _staff(peran: str, scope: str, name: str):
    from service.auth.principal import Kind, Principal
    from service.auth.roles import make_grant

    return Principal(kind=Kind.STAFF, subject=f"staff:{uuid.uuid4().int % 10**9}", name=name,
                     grants=(make_grant(peran, scope),))


def _signed_off_requests(engine: Engine) -> dict[str, str]:
    """PER_DESA S-04 requests in each desa, complete and signed by the Rio: {public id: desa}."""
    from service.penduduk.services import add_penduduk, create_keluarga
    from service.surat import services
    from tenants.session import DesaSession

    made: dict[str, str] = {}
    for desa in DESAS:
        operator = _staff("operator_desa", desa, "Operator Uji")
        sekdes = _staff("sekdes", desa, "Sekdes Uji")
        rio = _staff("kepala_desa", desa, "Rio Uji")
        with DesaSession(engine, desa) as session:
            keluarga = create_keluarga(session, no_kk=new_no_kk())
            people = []
            for i in range(2):
                nik = new_nik(female=i == 1)
                people.append(add_penduduk(session, {
                    "nik": nik, "nama": f"Warga {nik[-4:]}", "keluarga_id": keluarga.id, "kk_level": 1 if i == 0 else 4,
                    "sex": 1 if i == 0 else 2, "tanggal_lahir": nik_birth_date(nik),
                }, actor="test").penduduk)
            session.commit()
            for i in range(PER_DESA):
                permohonan = services.ajukan(session, actor=operator, jenis_kode=JENIS, penduduk=people[i % 2],
                                             isian={"alamat_tujuan": "Kecamatan Pelepat", "alasan": "pekerjaan"})
                for nama in ("Fotokopi KK", "Fotokopi KTP"):
                    services.tambah_lampiran(session, permohonan, nama=nama, nama_berkas="berkas.png",
                                             mime="image/png", isi=PNG, actor=operator)
                services.verifikasi(session, permohonan, operator)
                services.verifikasi(session, permohonan, sekdes)
                services.tandatangani(session, permohonan, rio, base_url=BASE_URL)
                assert permohonan.status == services.MENUNGGU_KECAMATAN
                made[str(permohonan.public_id)] = desa
                session.commit()
    return made


def _schema(desa: str) -> str:
    return "desa_" + desa.replace(".", "")


def _outbox(engine: Engine, topic: str | None = None) -> list:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT id, topic, status, attempts, completed_at, completed_by, result, last_error FROM kawasan.outbox "
            "WHERE (CAST(:t AS text) IS NULL OR topic = :t) ORDER BY id"), {"t": topic}).all()


def _all_done(engine: Engine, topic: str, expected: int) -> bool:
    rows = _outbox(engine)
    return sum(r.topic == topic for r in rows) == expected and all(r.status == "done" for r in rows)


# --- 1. forwarding ---------------------------------------------------------------------------------------


def test_forwarding_survives_a_killed_worker_and_a_flushed_redis(fresh_database, tmp_path):
    fresh = fresh_database([KEC], outbox_redeliver_after=1.0, relay_poll_interval=0.2)
    engine = fresh.engine
    requests = _signed_off_requests(engine)
    naik = _outbox(engine, "surat.naik")
    assert len(naik) == len(requests) == len(DESAS) * PER_DESA
    assert all(r.status == "pending" and r.attempts == 0 for r in naik)

    # Hold the inbox so a forwarding job stops mid-way: event row locked, inbox insert waiting.
    blocker = engine.connect()
    blocker.execute(text("LOCK TABLE kawasan.kotak_masuk IN EXCLUSIVE MODE"))
    backbone = Backbone(fresh.env(), tmp_path)
    backbone.start()
    try:
        orphan = _wait_for(lambda: _blocked_on_lock(engine, "%INSERT INTO kawasan.kotak_masuk%"), 30,
                           "a forwarding job to wait for the inbox", backbone, "before the kill")
        backbone.stop(signal.SIGKILL)
        redis.Redis.from_url(fresh.settings.redis_url).flushall()
        blocker.rollback()  # the killed job's transaction can now only roll back
        blocker.close()

        backbone.start()
        _wait_for(lambda: _all_done(engine, "surat.naik", len(requests)), 60,
                  "every outbox event to be done after the restart", backbone, "after the restart")
        before = _outbox(engine)
        time.sleep(2.5)  # more than two redelivery periods: nothing runs again
        backbone.assert_alive("while idle")

        with engine.connect() as conn:
            inbox = conn.execute(text("SELECT id, desa_kode, permohonan_id, putaran, tingkat, scope_kode, status "
                                      "FROM kawasan.kotak_masuk")).all()
            assert not conn.scalar(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": orphan})
        per_request = Counter(str(row.permohonan_id) for row in inbox)
        assert per_request == Counter(dict.fromkeys(requests, 1)), "each request in the kecamatan inbox exactly once"
        assert all((row.desa_kode, row.putaran, row.tingkat, row.scope_kode, row.status)
                   == (requests[str(row.permohonan_id)], 1, "kecamatan", KEC, "menunggu") for row in inbox)
        after = _outbox(engine)
        assert after == before, "a finished event ran again"
        assert all(r.status == "done" for r in after), [(r.id, r.topic, r.status, r.last_error) for r in after]
        naik = [r for r in after if r.topic == "surat.naik"]
        # Each event placed its own item (effect and 'done' commit together), and each was re-enqueued
        # after Redis lost it.
        assert sorted(r.result["kotak_masuk"] for r in naik) == sorted(row.id for row in inbox)
        assert all(r.result["baru"] is True and r.completed_by == f"outbox-{r.id}" for r in naik)
        assert all(r.attempts >= 2 for r in naik), [(r.id, r.attempts) for r in naik]
    finally:
        with contextlib.suppress(Exception):
            blocker.close()
        backbone.stop()


# --- 2. decisions across a PostgreSQL restart ------------------------------------------------------------


@contextlib.contextmanager
def _app_on(settings) -> Iterator:
    """An app on the fresh database; the process-wide runtime is put back afterwards for later tests."""
    import service.runtime as runtime_module
    from service.app import create_app

    saved = runtime_module._runtime
    app = None
    try:
        app = create_app(settings)
        app.testing = True
        yield app
    finally:
        if app is not None:
            app.extensions["kawasan"].engine.dispose()
        runtime_module._runtime = saved


def _postgres_restart(settings) -> tuple[Callable[[], None] | None, str]:
    """How to restart the PostgreSQL server of this test session, or why it cannot be done safely here."""
    from service.config import load_settings

    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        return None, "other pytest-xdist workers share this PostgreSQL server"
    if load_settings().database_url is None:  # the embedded server (see the `servers` fixture)
        pgdata = settings.data_dir / "postgres"
        if not (pgdata / "postmaster.pid").exists():
            return None, f"no running embedded PostgreSQL under {pgdata}"

        def restart_embedded() -> None:
            from pgserver._commands import pg_ctl

            user = "pgserver" if os.geteuid() == 0 else None  # as service.embedded.stop_embedded
            pg_ctl(["-w", "-t", "60", "-l", str(pgdata / "log"), "restart", "-m", "fast"], pgdata=pgdata,
                   user=user, timeout=90)

        return restart_embedded, "embedded PostgreSQL (pg_ctl restart -m fast)"
    url = make_url(settings.database_url)
    if (url.host or "localhost") not in ("127.0.0.1", "localhost") or (url.port or 5432) != 5432:
        return None, f"DATABASE_URL points at {url.host}:{url.port}, not this machine's 127.0.0.1:5432"
    tool, lsclusters = shutil.which("pg_ctlcluster"), shutil.which("pg_lsclusters")
    if os.geteuid() != 0 or tool is None or lsclusters is None:
        return None, "restarting the local cluster needs root and pg_ctlcluster/pg_lsclusters"
    listed = subprocess.run([lsclusters, "--no-header"], capture_output=True, text=True, check=False).stdout
    cluster = next((line.split() for line in listed.splitlines() if line.split()[:3] == ["15", "main", "5432"]), None)
    if cluster is None:
        return None, "no PostgreSQL 15 cluster 'main' on port 5432 in pg_lsclusters"
    try:
        with psycopg.connect(settings.database_url, connect_timeout=5) as conn:
            version = int(conn.execute("SHOW server_version_num").fetchone()[0])
            data_directory = conn.execute("SHOW data_directory").fetchone()[0]
    except psycopg.Error as exc:
        return None, f"cannot confirm which cluster DATABASE_URL reaches ({exc})"
    if version // 10000 != 15 or data_directory != cluster[5]:
        return None, f"DATABASE_URL reaches {data_directory} (version {version}), not cluster 15/main"

    def restart_cluster() -> None:
        subprocess.run([tool, "--mode", "fast", "15", "main", "restart"], check=True, capture_output=True,
                       timeout=90)

    return restart_cluster, "PostgreSQL 15/main (pg_ctlcluster --mode fast 15 main restart)"


def _queue_table_lock(url: str, statement: str, release: threading.Event) -> threading.Thread:
    """Request a table lock on a connection of its own (it waits in the lock queue); held until released."""

    def hold() -> None:
        with contextlib.suppress(psycopg.Error), psycopg.connect(url) as conn:
            conn.execute(statement)
            release.wait(120)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


# The camat's decisions, by position in each desa's list of ten (the last two stay undecided).
DECISIONS = {0: "setuju", 1: "setuju", 2: "setuju", 3: "setuju", 4: "setuju", 5: "kembalikan", 6: "kembalikan",
             7: "tolak"}


def test_decisions_survive_a_postgresql_restart(fresh_database, tmp_path):
    from service.surat import services

    fresh = fresh_database([KEC], outbox_redeliver_after=1.0, relay_poll_interval=0.2)
    engine = fresh.engine
    requests = _signed_off_requests(engine)
    restart, how = _postgres_restart(fresh.settings)
    backbone = Backbone(fresh.env(), tmp_path)
    blocker = None
    release = threading.Event()
    backbone.start()
    try:
        _wait_for(lambda: _all_done(engine, "surat.naik", len(requests)), 60, "the requests to reach the inbox",
                  backbone, "while forwarding")
        with engine.connect() as conn:
            inbox = conn.execute(text("SELECT id, desa_kode, permohonan_id FROM kawasan.kotak_masuk ORDER BY id")).all()
        assert len(inbox) == len(requests)

        # Hold the desa's letters: a decision job stops mid-way (event row locked, desa transaction open).
        blocker = engine.connect()
        tables = ", ".join(f'"{_schema(desa)}".permohonan_surat' for desa in DESAS)
        blocker.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))

        decided: dict[str, tuple[str, str | None]] = {}
        with _app_on(fresh.settings) as app:
            client = app.test_client()
            camat = _staff("camat", KEC, "Camat Uji")
            headers = bearer(app.extensions["kawasan_auth"].tokens.issue(camat)[0])
            for desa in DESAS:
                for position, item in enumerate(row for row in inbox if row.desa_kode == desa):
                    keputusan = DECISIONS.get(position)
                    if keputusan is None:
                        continue
                    alasan = None if keputusan == "setuju" else f"alasan {keputusan} {position}"
                    body = {"keputusan": keputusan} | ({"alasan": alasan} if alasan else {})
                    url = f"/api/v1/wilayah/{KEC}/kotak-masuk/{item.id}/keputusan"
                    response = client.post(url, json=body, headers=headers)
                    assert response.status_code == 200, response.get_json()
                    decided[str(item.permohonan_id)] = (keputusan, alasan)
            again = client.post(url, json=body, headers=headers)  # the same decision twice: nothing new
            assert again.status_code == 200, again.get_json()
        assert len(_outbox(engine, services.TOPIC_KEPUTUSAN)) == len(decided) == len(DESAS) * len(DECISIONS)

        _wait_for(lambda: _blocked_on_lock(engine, "%permohonan_surat%"), 30,
                  "a decision job to wait for the desa", backbone, "before the restart")
        if restart is not None:
            # Also catch the relay mid-pass: an EXCLUSIVE request on the outbox queues behind the blocked job,
            # and the relay's next `SELECT … FOR UPDATE SKIP LOCKED` queues behind it.
            _queue_table_lock(fresh.url, "LOCK TABLE kawasan.outbox IN EXCLUSIVE MODE", release)
            _wait_for(lambda: _blocked_on_lock(engine, "SELECT id, queue, enqueued_at IS NOT NULL%"), 30,
                      "the relay to be mid-pass", backbone, "before the restart")
            started = time.monotonic()
            restart()
            print(f"restarted {how} in {time.monotonic() - started:.1f} s")
        else:
            warnings.warn(f"PostgreSQL was not restarted: {how}; decisions checked without the restart",
                          stacklevel=1)
        release.set()
        with contextlib.suppress(Exception):
            blocker.rollback()  # after a restart: a dead connection, invalidated and dropped
        blocker.close()

        total_issued = sum(k == "setuju" for k, _ in decided.values())

        def everything_done() -> bool:
            return all(r.status == "done" for r in _outbox(engine)) and _issued(engine) == total_issued

        _wait_for(everything_done, 60, "every decision to reach its desa", backbone, "after the PostgreSQL restart")
        before = _outbox(engine)
        time.sleep(2.5)  # more than two redelivery periods: nothing runs again
        backbone.assert_alive("after the PostgreSQL restart")

        events = _outbox(engine)
        assert events == before, "a finished event ran again"
        assert not [r for r in events if r.status != "done"], [(r.id, r.topic, r.status, r.last_error)
                                                               for r in events if r.status != "done"]
        keputusan_events = [r for r in events if r.topic == services.TOPIC_KEPUTUSAN]
        assert len(keputusan_events) == len(decided)
        if restart is not None:
            assert any(r.attempts >= 2 for r in keputusan_events), "the interrupted decision job was redelivered"
        with engine.connect() as conn:
            items = {str(r.permohonan_id): (r.status, r.keputusan) for r in conn.execute(text(
                "SELECT permohonan_id, status, keputusan FROM kawasan.kotak_masuk"))}
        assert items == {p: ("diputus", decided[p][0]) if p in decided else ("menunggu", None) for p in requests}
        _assert_each_decision_applied_once(engine, requests, decided)
    finally:
        release.set()
        if blocker is not None:
            with contextlib.suppress(Exception):
                blocker.close()
        backbone.stop()


def _issued(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM kawasan.surat_terbit"))


def _assert_each_decision_applied_once(engine: Engine, requests: dict[str, str],
                                       decided: dict[str, tuple[str, str | None]]) -> None:
    from service.surat import services

    expected_status = {"setuju": services.SIAP_DIAMBIL, "kembalikan": services.DIKEMBALIKAN,
                       "tolak": services.DITOLAK}
    with engine.connect() as conn:
        for desa in DESAS:
            schema = _schema(desa)
            rows = {str(r.public_id): r for r in conn.execute(text(
                f'SELECT id, public_id, status, alasan, nomor, nomor_urut, token_verifikasi, penandatangan '
                f'FROM "{schema}".permohonan_surat')).all()}
            assert set(rows) == {p for p, d in requests.items() if d == desa}
            history = Counter()
            for r in conn.execute(text(
                    f'SELECT p.public_id, h.aksi, h.kunci FROM "{schema}".riwayat_permohonan h '
                    f'JOIN "{schema}".permohonan_surat p ON p.id = h.permohonan_id WHERE h.tingkat = :t'),
                    {"t": "kecamatan"}):
                history[(str(r.public_id), r.aksi, r.kunci)] += 1
            notices = Counter(str(r.public_id) for r in conn.execute(text(
                f'SELECT p.public_id FROM "{schema}".notifikasi n JOIN "{schema}".permohonan_surat p '
                f"ON p.id = n.permohonan_id WHERE n.judul LIKE 'Keputusan kecamatan:%'")))
            numbers = []
            for public_id, row in rows.items():
                keputusan, alasan = decided.get(public_id, (None, None))
                if keputusan is None:
                    assert row.status == services.MENUNGGU_KECAMATAN and row.nomor is None
                    assert not [k for k in history if k[0] == public_id] and not notices[public_id]
                    continue
                # One history entry and one notice per decision, however often the job ran.
                assert [(k, n) for k, n in history.items() if k[0] == public_id] == [
                    ((public_id, keputusan, "kecamatan:1:keputusan"), 1)], public_id
                assert notices[public_id] == 1, public_id
                assert row.status == expected_status[keputusan], (public_id, row.status)
                if keputusan == "setuju":
                    assert row.nomor and row.token_verifikasi
                    assert [s["tingkat"] for s in row.penandatangan] == ["desa", "kecamatan"]
                    numbers.append(row.nomor_urut)
                else:
                    assert row.alasan == alasan and row.nomor is None
            # Distinct numbers without gaps: no number was drawn twice or burnt by a repeated job.
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), numbers
            counter = conn.scalar(text(f'SELECT terakhir FROM "{schema}".nomor_surat WHERE kunci = :k'),
                                  {"k": KLASIFIKASI})
            assert counter == len(numbers)
        issued = conn.execute(text("SELECT desa_kode, nomor FROM kawasan.surat_terbit")).all()
    approved = [p for p, (k, _) in decided.items() if k == "setuju"]
    assert len(issued) == len({r.nomor for r in issued}) == len(approved)
