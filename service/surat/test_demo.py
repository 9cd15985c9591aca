"""The demo's letters: every state, real histories, inbox items (some overdue), idempotent."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from service.surat import services
from service.surat.demo import PILOT, _counts, isi_surat_demo
from tenants.session import DesaSession
from tests.fixtures import create_database, drop_database, make_settings, prepare

PER_DESA = 40


@pytest.fixture(scope="module")
def seeded(servers, runtime):
    """A fresh database (as ``fresh_database(["15.08.14"])`` makes, but shared by this module's tests: seeding
    takes a while) with the demo accounts and residents, then the letters. ``runtime``: the register
    generator hashes NIKs with the process runtime's secret key, which must be the test session's."""
    from service.db import make_engine
    from service.demo import seed_demo

    url = create_database(servers, prefix="kawasan_fresh")
    engine = make_engine(url, pool_size=4)
    try:
        prepare(engine, make_settings(servers, url), ["15.08.14"])
        seed_demo(engine)
        result = isi_surat_demo(engine, base_url="http://demo.test", per_desa=PER_DESA, penduduk=400, jobs=3)
        yield SimpleNamespace(engine=engine), result
    finally:
        engine.dispose()
        drop_database(servers, url)


def _rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_counts_per_status(seeded):
    fresh, result = seeded
    assert result["surat"] == PER_DESA * len(PILOT)
    totals: Counter[str] = Counter()
    for index, kode in enumerate(PILOT):
        desa = result["desa"][kode]
        assert not desa["skipped"] and sum(desa["status"].values()) == PER_DESA
        status = Counter(desa["status"])
        totals += status
        assert status[services.MENUNGGU_TANDATANGAN] == 6
        assert status[services.MENUNGGU_KECAMATAN] == 8
        assert status[services.SUDAH_DIAMBIL] == 1
        assert status[services.SIAP_DIAMBIL] == 1 + (index < 3)  # one issued here (+ one via the camat)
        assert status[services.DITOLAK] == 2 and status[services.DIBATALKAN] == 1
        assert status[services.DIKEMBALIKAN] == 3  # two by the desa, one by the camat
        assert status[services.SEDANG_DIPERIKSA] >= 6 + 1  # at the sekdes' step, and the resubmitted one
        assert status[services.MENUNGGU_KABUPATEN] == (1 if index < 2 else 0)
        assert desa["pdf"] == 2 + (index < 3)
    assert totals[services.BELUM_LENGKAP] > 0  # some requests still miss an attachment
    assert totals[services.MENUNGGU_KABUPATEN] == 2
    assert result["pdf"] == 21
    # In the database, not just in the report: issued letters carry a number, a PDF and a verification row.
    issued = _rows(fresh.engine, "SELECT desa_kode, pdf_sha256 FROM kawasan.surat_terbit")
    assert len(issued) == 21
    with DesaSession(fresh.engine, PILOT[0]) as session:
        pdf, sha, nomor = session.execute(text(
            "SELECT pdf, pdf_sha256, nomor FROM permohonan_surat WHERE status = :s LIMIT 1"),
            {"s": services.SUDAH_DIAMBIL}).one()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == sha and nomor


def test_inbox_items_exist_and_some_are_overdue(seeded):
    fresh, result = seeded
    now = datetime.now(UTC)
    kec = _rows(fresh.engine, "SELECT * FROM kawasan.kotak_masuk WHERE tingkat = 'kecamatan'")
    waiting = [r for r in kec if r.status == "menunggu"]
    assert len(waiting) == 8 * len(PILOT) and all(r.scope_kode == "15.08.14" for r in kec)
    overdue = [r for r in waiting if r.batas_waktu < now]
    assert len(overdue) == result["terlambat"] == 4 * len(PILOT)
    assert all(r.masuk_pada < now - timedelta(days=3) for r in overdue)
    assert all(r.batas_waktu - r.masuk_pada == services.SLA["kecamatan"] for r in kec)
    decided = Counter(r.keputusan for r in kec if r.status == "diputus")
    assert decided == {"kembalikan": len(PILOT), "setuju": 3 + 2}
    kab = _rows(fresh.engine, "SELECT * FROM kawasan.kotak_masuk WHERE tingkat = 'kabupaten'")
    assert len(kab) == 2 and {r.status for r in kab} == {"menunggu"} and {r.scope_kode for r in kab} == {"15.08"}
    assert result["kotak_masuk"] == len(kec) + len(kab)
    # The climbing events were handled inline (as the job does) and the seeded news is not re-announced.
    pending = _rows(fresh.engine, "SELECT topic, count(*) FROM kawasan.outbox WHERE status = 'pending' "
                                  "AND topic LIKE 'surat.%' GROUP BY topic")
    assert pending == []
    done_by_demo = dict(_rows(fresh.engine, "SELECT topic, count(*) FROM kawasan.outbox "
                                            "WHERE completed_by = 'demo' GROUP BY topic"))
    assert done_by_demo["surat.naik"] == len(kec) + len(kab) and done_by_demo["surat.kabar"] > 100


def test_histories_are_real_and_dated(seeded):
    fresh, _ = seeded
    kode = PILOT[0]
    item = _rows(fresh.engine, "SELECT * FROM kawasan.kotak_masuk WHERE desa_kode = :d AND tingkat = 'kecamatan' "
                               "AND status = 'menunggu' ORDER BY masuk_pada LIMIT 1", d=kode)[0]
    with DesaSession(fresh.engine, kode) as session:
        history = session.execute(text(
            "SELECT h.aksi, h.status, h.oleh_nama, h.peran, h.waktu, s.dibuat_pada, s.penandatangan "
            "FROM riwayat_permohonan h JOIN permohonan_surat s ON s.id = h.permohonan_id "
            "WHERE s.public_id = :p ORDER BY h.id"), {"p": item.permohonan_id}).all()
        fixed = session.execute(text(
            "SELECT s.status, s.pemohon, p.id FROM permohonan_surat s JOIN penduduk p ON p.id = s.penduduk_id "
            "WHERE p.nik = '1508140304850001'")).all()
        notes = session.scalar(text("SELECT count(*) FROM notifikasi"))
    aksi = [h.aksi for h in history]
    assert aksi[0] == "diajukan" and aksi[-2:] == ["diverifikasi", "ditandatangani"]
    assert [h.peran for h in history if h.aksi in ("diverifikasi", "ditandatangani")] == [
        "operator_desa", "sekdes", "kepala_desa"]
    assert history[-1].oleh_nama == "Rio Muara Buat"  # the demo account, not a stand-in
    times = [h.waktu for h in history]
    assert times == sorted(times) and times[0] == history[0].dibuat_pada and times[0] < times[-1]
    assert times[-1] == item.masuk_pada  # it entered the camat's inbox when the Rio signed
    assert history[-1].penandatangan[0]["waktu"] == item.masuk_pada.isoformat()
    assert notes > 0
    # The demo resident who can sign in (Syahrial) asked online and has a letter ready to collect.
    assert fixed and all(pemohon == f"warga:{kode}:{pid}" for _, pemohon, pid in fixed)
    assert services.SIAP_DIAMBIL in {status for status, _, _ in fixed}


def test_a_second_run_changes_nothing(seeded):
    fresh, _ = seeded
    before = _rows(fresh.engine, "SELECT count(*) FROM kawasan.kotak_masuk")[0][0]
    again = isi_surat_demo(fresh.engine, base_url="http://demo.test", per_desa=PER_DESA, penduduk=400)
    assert again["surat"] == 0 and all(d["skipped"] is True for d in again["desa"].values())
    assert _rows(fresh.engine, "SELECT count(*) FROM kawasan.kotak_masuk")[0][0] == before


def test_plan_scales_with_per_desa():
    assert sum(_counts(40, 0, 2).values()) == 40
    small = _counts(12, 5, 2)
    assert sum(small.values()) == 12 and small["terbit"] + small["diambil"] == 2 and small["kabupaten"] == 0
    big = _counts(200, 0, 2)
    assert sum(big.values()) == 200 and big["camat"] == 40 and big["terbit"] + big["diambil"] == 2
