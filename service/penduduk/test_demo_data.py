"""The synthetic demo register: plausible, valid, deterministic, idempotent, and reachable as a job."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from service.demo import RESIDENTS
from service.penduduk import services
from service.penduduk.demo_data import isi_desa
from service.penduduk.demo_tasks import TOPIC_ISI_DESA, request_demo_data
from service.penduduk.nik import check_nik, check_no_kk
from tenants.provisioning import drop_desa, provision_desa
from tenants.session import DesaNotFound, DesaSession

DESA = "15.08.14.2001"  # Muara Buat: also holds the fixed demo residents of service/demo.py
SCHEMA = "desa_1508142001"
KECAMATAN_DIGITS = "150814"
TODAY = date(2026, 11, 22)


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _add_fixed_residents(engine) -> set[str]:
    with DesaSession(engine, DESA) as session:
        for nik, nama, no_kk, kk_level, sex, lahir in RESIDENTS[DESA]:
            keluarga = session.scalar(text("SELECT id FROM keluarga WHERE no_kk = :k"), {"k": no_kk})
            if keluarga is None:
                keluarga = services.create_keluarga(session, no_kk=no_kk).id
            services.add_penduduk(session, {"nik": nik, "nama": nama, "keluarga_id": keluarga, "kk_level": kk_level,
                                            "sex": sex, "tanggal_lahir": lahir, "agama_id": 1}, actor="test")
        session.commit()
    return {row[0] for row in RESIDENTS[DESA]}


def _rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql.replace("{s}", SCHEMA)), params).all()


@pytest.fixture
def filled(fresh_database, runtime):
    """A fresh database with Muara Buat provisioned, its fixed demo residents, and a 500-resident register."""
    fresh = fresh_database(codes=[DESA])
    fixed = _add_fixed_residents(fresh.engine)
    result = isi_desa(fresh.engine, DESA, penduduk=500, hari_ini=TODAY)
    return fresh, fixed, result


def test_register_is_plausible_and_valid(filled):
    fresh, fixed, result = filled
    engine = fresh.engine
    assert result["skipped"] is False
    assert 425 <= result["penduduk_hidup"] <= 575
    people = _rows(engine, "SELECT p.*, k.no_kk FROM {s}.penduduk p JOIN {s}.keluarga k ON k.id = p.keluarga_id "
                           "WHERE p.nik <> ALL(:f)", f=sorted(fixed))
    living = [p for p in people if p.status_dasar == 1]
    assert len(living) == result["penduduk_hidup"]
    assert len(people) == result["penduduk"]

    # NIKs: valid, of this kecamatan, agreeing with the stored sex and birth date, unique, not the fixed ones.
    for p in people:
        check = check_nik(p.nik, sex=p.sex, tanggal_lahir=p.tanggal_lahir)
        assert not check.errors and not check.warnings, (p.nik, check)
        assert p.nik[:6] == KECAMATAN_DIGITS
        assert check.sex == p.sex
        assert (check.day, check.month, check.year2) == (p.tanggal_lahir.day, p.tanggal_lahir.month,
                                                         p.tanggal_lahir.year % 100)
    assert len({p.nik for p in people}) == len(people)
    assert not {p.nik for p in people} & fixed

    # Ages, marital status, family roles.
    for p in people:
        age = _years(p.tanggal_lahir, TODAY)
        assert 0 <= age <= 100, p
        if p.status_kawin != 1:
            assert age >= 16, (age, p.status_kawin, p.kk_level)
        if p.kk_level == 3:  # istri
            assert p.sex == 2 and p.status_kawin == 2
        if age < 10:
            assert p.status_kawin == 1 and p.pekerjaan_id in (1, 3), p
            assert p.pendidikan_kk_id in (1, 2)
        if p.tanggal_perkawinan:
            assert p.status_kawin != 1 and 16 <= _years(p.tanggal_lahir, p.tanggal_perkawinan) <= age
        if p.sex == 1:
            assert p.hamil is None
    ages = Counter(min(_years(p.tanggal_lahir, TODAY) // 15, 5) for p in living)
    assert ages[0] > ages[4] > ages[5] > 0  # young-heavy: 0–14 outnumber 60–74, who outnumber 75+
    men, women = sum(p.sex == 1 for p in living), sum(p.sex == 2 for p in living)
    assert 0.85 <= men / women <= 1.18
    assert sum(p.agama_id == 1 for p in living) / len(living) >= 0.9
    jobs = Counter(p.pekerjaan_id for p in living if _years(p.tanggal_lahir, TODAY) >= 25)
    assert jobs.most_common(1)[0][0] in (9, 2)  # petani/pekebun or mengurus rumah tangga
    adults = [p for p in living if _years(p.tanggal_lahir, TODAY) >= 20]
    assert sum(p.ktp_el == 2 for p in adults) / len(adults) >= 0.8
    assert 0.65 <= sum(p.akta_lahir is not None for p in living) / len(living) <= 0.95
    assert Counter(p.tempat_lahir for p in people).most_common(1)[0][0] == "Muara Bungo"

    # Families: KK numbers valid; every active family has exactly one living head, which keluarga points to.
    families = _rows(engine, "SELECT * FROM {s}.keluarga")
    for k in families:
        check = check_no_kk(k.no_kk)
        assert not check.errors and not check.warnings and k.no_kk[:6] == KECAMATAN_DIGITS
    members: dict[int, list] = {}
    for p in _rows(engine, "SELECT id, keluarga_id, kk_level, status_dasar FROM {s}.penduduk"):
        members.setdefault(p.keluarga_id, []).append(p)
    for k in families:
        alive = [m for m in members.get(k.id, []) if m.status_dasar == 1]
        heads = [m for m in alive if m.kk_level == 1]
        if k.aktif:
            assert len(heads) == 1 and k.kepala_id == heads[0].id, k.no_kk
        else:
            assert not alive and k.kepala_id is None
    assert len({k.no_kk for k in families}) == len(families)

    # The last twelve months in the mutation log, matching each resident's status.
    events = _rows(engine, "SELECT * FROM {s}.mutasi_penduduk")
    by_kind = Counter(e.kode_peristiwa for e in events)
    assert by_kind[services.LAHIR] > 0 and by_kind[services.MATI] > 0 and by_kind[services.PINDAH_KELUAR] > 0
    assert by_kind[services.DATANG] > 0
    kinds = {(e.penduduk_id, e.kode_peristiwa) for e in events}
    for p in people:
        if p.status_dasar == 2:
            assert (p.id, services.MATI) in kinds
        elif p.status_dasar == 3:
            assert (p.id, services.PINDAH_KELUAR) in kinds
    for e in events:
        assert TODAY - timedelta(days=366) <= e.tanggal_peristiwa <= e.tanggal_lapor <= TODAY

    # Wilayah: 2–5 kampung, 1–3 RW each, 2–4 RT per RW, heads are living residents.
    wilayah = _rows(engine, "SELECT * FROM {s}.wilayah")
    dusun = [w for w in wilayah if w.tingkat == "dusun"]
    assert 2 <= len(dusun) <= 5 and all(w.nama.startswith("Kampung ") for w in dusun)
    for d in dusun:
        rws = [w for w in wilayah if w.induk_id == d.id]
        assert 1 <= len(rws) <= 3
        for rw in rws:
            assert 2 <= len([w for w in wilayah if w.induk_id == rw.id]) <= 4
    alive_ids = {p.id: p.nama for p in living}
    assert all(w.kepala_penduduk_id in alive_ids and alive_ids[w.kepala_penduduk_id] == w.kepala_nama
               for w in wilayah if w.kepala_penduduk_id)
    assert sum(w.kepala_penduduk_id is not None for w in wilayah) >= len(wilayah) - 2

    # The shared hashed NIK index, alive flags included.
    index = dict(_rows(engine, "SELECT nik_hmac, hidup FROM kawasan.nik_index WHERE desa_kode = :d", d=DESA))
    for p in people:
        assert index[services.nik_hmac(p.nik)] == (p.status_dasar == 1)
    # One coalesced "figures changed" event for the desa.
    assert _rows(engine, "SELECT count(*) FROM kawasan.outbox WHERE topic = 'penduduk.berubah' AND desa_kode = :d "
                         "AND status = 'pending'", d=DESA)[0][0] == 1


def test_same_seed_same_register_and_a_second_run_is_skipped(filled):
    fresh, fixed, first = filled
    engine = fresh.engine
    niks = {r.nik for r in _rows(engine, "SELECT nik FROM {s}.penduduk")} - fixed
    fixed_kk = {row[2] for row in RESIDENTS[DESA]}
    kks = {r.no_kk for r in _rows(engine, "SELECT no_kk FROM {s}.keluarga")} - fixed_kk
    assert kks and not kks & fixed_kk
    assert isi_desa(engine, DESA, penduduk=500, hari_ini=TODAY) == {"desa": DESA, "skipped": True}
    assert len(_rows(engine, "SELECT id FROM {s}.penduduk")) == first["penduduk"] + len(fixed)

    with engine.begin() as conn:  # empty the register again (as the owner) and regenerate
        conn.execute(text(f"TRUNCATE {SCHEMA}.mutasi_penduduk, {SCHEMA}.riwayat_no_kk, {SCHEMA}.akun_warga, "
                          f"{SCHEMA}.penduduk, {SCHEMA}.keluarga, {SCHEMA}.wilayah CASCADE"))
        conn.execute(text("DELETE FROM kawasan.nik_index WHERE desa_kode = :d"), {"d": DESA})
    again = isi_desa(engine, DESA, penduduk=500, hari_ini=TODAY)
    assert {r.nik for r in _rows(engine, "SELECT nik FROM {s}.penduduk")} == niks
    assert {r.no_kk for r in _rows(engine, "SELECT no_kk FROM {s}.keluarga")} == kks
    assert again["penduduk_hidup"] == first["penduduk_hidup"]
    assert first["detik_total"] < 10


def test_villages_of_one_kecamatan_never_share_a_nik(fresh_database, runtime):
    other = "15.08.14.2002"
    fresh = fresh_database(codes=[DESA, other])
    isi_desa(fresh.engine, DESA, penduduk=400, hari_ini=TODAY)
    isi_desa(fresh.engine, other, penduduk=400, hari_ini=TODAY)
    with fresh.engine.connect() as conn:
        a = set(conn.scalars(text("SELECT nik FROM desa_1508142001.penduduk")))
        b = set(conn.scalars(text("SELECT nik FROM desa_1508142002.penduduk")))
        ka = set(conn.scalars(text("SELECT no_kk FROM desa_1508142001.keluarga")))
        kb = set(conn.scalars(text("SELECT no_kk FROM desa_1508142002.keluarga")))
    assert a and b and not a & b and not ka & kb
    assert not (a | b) & {row[0] for people in RESIDENTS.values() for row in people}


def test_unprovisioned_desa_raises(fresh_database, runtime):
    fresh = fresh_database(codes=[])
    with pytest.raises(DesaNotFound):
        isi_desa(fresh.engine, "15.08.03.1006", penduduk=50)


# --- the job path -----------------------------------------------------------------------------------------

JOB_DESA = "15.08.03.1006"  # Tanjung Gedang (a kelurahan): not provisioned by the session fixture


@pytest.fixture
def cleanup_job_desa(engine):
    yield
    with engine.begin() as conn:
        drop_desa(conn, JOB_DESA)
        conn.execute(text("DELETE FROM kawasan.outbox WHERE desa_kode = :k"), {"k": JOB_DESA})
        conn.execute(text("DELETE FROM kawasan.nik_index WHERE desa_kode = :k"), {"k": JOB_DESA})


def _event(engine, event_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM kawasan.outbox WHERE id = :i"), {"i": event_id}).one()


def test_demo_job_waits_for_provisioning_then_fills_and_summary_follows(engine, runtime, relay, work,
                                                                       cleanup_job_desa):
    with engine.begin() as conn:
        [event_id] = request_demo_data(conn, [JOB_DESA], 300)
        assert request_demo_data(conn, [JOB_DESA], 300) == []  # one pending event per desa
    relay.run_once()
    work()
    row = _event(engine, event_id)
    assert row.topic == TOPIC_ISI_DESA and row.queue == "default" and row.payload == {"penduduk": 300}
    assert row.status == "pending" and "DesaNotFound" in row.last_error  # not provisioned yet: retried later
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT available_at > now() FROM kawasan.outbox WHERE id = :i"), {"i": event_id})

    with engine.begin() as conn:
        provision_desa(conn, JOB_DESA, tenant_dir=runtime.settings.migrations_dir / "tenant")
        conn.execute(text("UPDATE kawasan.outbox SET available_at = now() WHERE id = :i"), {"i": event_id})
    relay.run_once()
    work()
    row = _event(engine, event_id)
    assert row.status == "done", row.last_error
    assert row.result["skipped"] is False and 255 <= row.result["penduduk_hidup"] <= 345

    deadline = time.monotonic() + 20
    summary = None
    while time.monotonic() < deadline:  # the penduduk.berubah event it emitted recounts the desa
        relay.run_once()
        work()
        with engine.connect() as conn:
            summary = conn.execute(text("SELECT * FROM kawasan.desa_ringkasan WHERE desa_kode = :d"),
                                   {"d": JOB_DESA}).first()
        if summary is not None:
            break
        time.sleep(0.2)
    assert summary is not None
    assert summary.penduduk_hidup == row.result["penduduk_hidup"]
    assert summary.keluarga_aktif == row.result["keluarga_aktif"]
    assert (summary.laki_laki, summary.perempuan) == (row.result["laki_laki"], row.result["perempuan"])


def test_demo_topic_is_registered():
    from workers.jobs import HANDLER_MODULES, HANDLERS, _load_handlers

    assert "service.penduduk.demo_tasks" in HANDLER_MODULES
    _load_handlers()
    assert TOPIC_ISI_DESA in HANDLERS
