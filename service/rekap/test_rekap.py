"""Rollups: kept by the worker from the coalesced dirty event, equal to the villages' own figures (by
construction and by check), and read by the kecamatan and kabupaten dashboards."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from service.auth.principal import Kind, Principal
from service.auth.roles import make_grant
from service.penduduk import services as penduduk
from service.penduduk.statistik import statistik_desa
from service.rekap.services import bangun_ulang, hitung_desa, tersimpan, verifikasi
from service.surat import services as surat
from service.surat.models import PermohonanSurat
from tenants.session import DesaSession
from tests.fixtures import bearer, new_nik, new_no_kk, nik_birth_date

KEC = "15.08.14"
KAB = "15.08"
DESA_KERJA = ("15.08.14.2003", "15.08.14.2004")
DESA_LEDAKAN = "15.08.14.2006"
BASE_URL = "http://uji.invalid"


def _staf(desa: str, peran: str) -> Principal:
    return Principal(kind=Kind.STAFF, subject=f"staff:{peran}:{desa}", name=f"Uji {peran}",
                     grants=(make_grant(peran, desa),))


def _drain(relay, work, engine, rounds: int = 8) -> None:
    """Relay and work until no rollup event is pending (decisions from above cause further events)."""
    for _ in range(rounds):
        relay.run_once()
        work()
        with engine.connect() as conn:
            pending = conn.scalar(text("SELECT count(*) FROM kawasan.outbox WHERE status = 'pending' "
                                       "AND topic IN ('penduduk.berubah', 'surat.naik', 'surat.keputusan')"))
        if not pending:
            return
    raise AssertionError("rollup events still pending")


def _pending_event(engine, relay, work, make_family, desa: str) -> int | None:
    """Bring ``desa``'s rollup up to date, then change its register once: the id of its pending event."""
    make_family(desa=desa, size=1)
    _drain(relay, work, engine)
    make_family(desa=desa, size=1)  # a pending event for this desa
    with engine.connect() as conn:
        return conn.scalar(text("SELECT id FROM kawasan.outbox WHERE topic = 'penduduk.berubah' AND desa_kode = :d "
                                "AND status = 'pending'"), {"d": desa})


def _dihitung_ke(engine, desa: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT dihitung_ke FROM kawasan.rekap_desa WHERE desa_kode = :d"), {"d": desa}) or 0


@pytest.fixture(scope="module")
def built(engine):
    """Every pilot desa has a rollup before the tests change anything (verify reports a missing one)."""
    bangun_ulang(engine, KEC)
    return True


# --- the workload ------------------------------------------------------------------------------------------


class Beban:
    """Random register and letter operations through the services, each in its own desa transaction."""

    def __init__(self, engine, rng: random.Random):
        self.engine, self.rng = engine, rng

    def keluarga(self, desa: str) -> None:
        with DesaSession(self.engine, desa) as s:
            kk = penduduk.create_keluarga(s, no_kk=new_no_kk())
            for i in range(self.rng.randint(1, 4)):
                female = i > 0 and self.rng.random() < 0.6
                nik = new_nik(female=female)
                kind = self.rng.choice([None, penduduk.DATANG, penduduk.LAHIR])
                raw = {"nik": nik, "nama": f"Warga {nik[-4:]}", "keluarga_id": kk.id, "kk_level": 1 if i == 0 else 4,
                       "sex": 2 if female else 1, "tanggal_lahir": nik_birth_date(nik),
                       "agama_id": self.rng.randint(1, 6), "pekerjaan_id": self.rng.randint(1, 20),
                       "pendidikan_kk_id": self.rng.randint(1, 10), "status_kawin": self.rng.randint(1, 4)}
                if kind == penduduk.LAHIR:  # a newborn: born in the last months, so the mutation months vary
                    raw["tanggal_lahir"] = (date.today() - timedelta(days=self.rng.randint(0, 300))).isoformat()
                    raw["status_kawin"] = 1
                penduduk.add_penduduk(s, raw, actor="uji", peristiwa=kind,
                                      tanggal=date.today() - timedelta(days=self.rng.randint(0, 400)) if kind else None)
            s.commit()

    def _satu(self, s, where: str):
        ids = list(s.scalars(text(f"SELECT id FROM penduduk WHERE {where} ORDER BY id")))
        return s.get(penduduk.Penduduk, self.rng.choice(ids)) if ids else None

    def keluar(self, desa: str) -> None:
        with DesaSession(self.engine, desa) as s:
            p = self._satu(s, "status_dasar = 1")
            if p is not None:
                penduduk.peristiwa_keluar(s, p, self.rng.choice([penduduk.MATI, penduduk.PINDAH_KELUAR]),
                                          tanggal=date.today() - timedelta(days=self.rng.randint(0, 60)), actor="uji")
            s.commit()

    def koreksi(self, desa: str) -> None:
        with DesaSession(self.engine, desa) as s:
            p = self._satu(s, "status_dasar = 1")
            if p is not None:
                penduduk.koreksi(s, p, {"pekerjaan_id": self.rng.randint(1, 30), "ktp_el": self.rng.choice([1, 2])},
                                 actor="uji")
            s.commit()

    def ajukan(self, desa: str) -> None:
        with DesaSession(self.engine, desa) as s:
            p = self._satu(s, "status_dasar = 1")
            if p is None:
                return
            jenis = self.rng.choice(["DOM", "DOM", "S-04", "S-06"])
            isian = {"keperluan": "uji"} if jenis == "DOM" else {"alamat_tujuan": "Jambi", "alasan": "kerja"}
            permohonan = surat.ajukan(s, actor=_staf(desa, "operator_desa"), jenis_kode=jenis, penduduk=p, isian=isian)
            for nama in surat.lampiran_kurang(s, permohonan):
                surat.tambah_lampiran(s, permohonan, nama=nama, nama_berkas="x.png", mime="image/png",
                                      isi=b"\x89PNG\r\n\x1a\n" + b"\0" * 16, actor=_staf(desa, "operator_desa"))
            s.commit()

    def maju(self, desa: str, *, boleh_terbit: bool) -> None:
        """Move one open letter one step: verify, sign, reject, return, resubmit, or decide from above."""
        with DesaSession(self.engine, desa) as s:
            done = [surat.SIAP_DIAMBIL, surat.SUDAH_DIAMBIL, surat.DITOLAK, surat.DIBATALKAN]
            open_ = list(s.scalars(text("SELECT id FROM permohonan_surat WHERE status <> ALL(:done) ORDER BY id"),
                                   {"done": done}))
            if not open_:
                return
            p = s.get(PermohonanSurat, self.rng.choice(open_))
            roll = self.rng.random()
            if p.status == surat.DIKEMBALIKAN:
                surat.ajukan_ulang(s, p, _staf(desa, "operator_desa"))
            elif p.status in (surat.SEDANG_DIPERIKSA, surat.MENUNGGU_TANDATANGAN) and roll < 0.2:
                surat.tolak_atau_kembalikan(s, p, _staf(desa, "kepala_desa"), kembalikan=roll < 0.1, alasan="kurang")
            elif p.status == surat.SEDANG_DIPERIKSA:
                surat.verifikasi(s, p, _staf(desa, surat._step_role(s, p)))
            elif p.status == surat.MENUNGGU_TANDATANGAN and (boleh_terbit or p.rantai != "desa"):
                surat.tandatangani(s, p, _staf(desa, "kepala_desa"), base_url=BASE_URL)
            elif p.status in (surat.MENUNGGU_KECAMATAN, surat.MENUNGGU_KABUPATEN):
                # What the surat.keputusan job does in the desa once the level above decided.
                tingkat = "kecamatan" if p.status == surat.MENUNGGU_KECAMATAN else "kabupaten"
                keputusan = self.rng.choice(["tolak", "kembalikan"] + (["setuju"] if boleh_terbit else []))
                surat.terapkan_keputusan(s, p, tingkat=tingkat, putaran=p.putaran, keputusan=keputusan,
                                         oleh={"subject": "staff:atas", "nama": "Atasan", "peran": "camat"},
                                         alasan=None if keputusan == "setuju" else "kurang", base_url=BASE_URL)
            s.commit()


def test_randomized_workloads_leave_nothing_for_verify_to_find(engine, built, relay, work):
    rng = random.Random(20261122)
    beban = Beban(engine, rng)
    issued = 0
    for desa in DESA_KERJA:
        for _ in range(3):
            beban.keluarga(desa)
    for step in range(120):
        desa = rng.choice(DESA_KERJA)
        op = rng.random()
        if op < 0.2:
            beban.keluarga(desa)
        elif op < 0.3:
            beban.keluar(desa)
        elif op < 0.45:
            beban.koreksi(desa)
        elif op < 0.65:
            beban.ajukan(desa)
        else:
            beban.maju(desa, boleh_terbit=issued < 6)  # issuing renders a PDF: a few are enough
            with engine.connect() as conn:
                issued = conn.scalar(text("SELECT count(*) FROM kawasan.surat_terbit WHERE desa_kode = ANY(:d)"),
                                     {"d": list(DESA_KERJA)})
        if step % 25 == 24:  # sometimes the worker keeps up, sometimes it meets a backlog
            _drain(relay, work, engine)
    _drain(relay, work, engine)
    for desa in DESA_KERJA:  # letters last, alone: their own status changes must mark the desa dirty
        beban.ajukan(desa)
        for _ in range(4):
            beban.maju(desa, boleh_terbit=False)
    _drain(relay, work, engine)

    checked, selisih = verifikasi(engine, KEC)
    assert set(DESA_KERJA) <= set(checked)
    assert [s.as_dict() for s in selisih] == []

    # The rollup and the village's own statistics are one computation: the same figures.
    for desa in DESA_KERJA:
        with engine.connect() as conn:
            stored = tersimpan(conn, desa)
        with DesaSession(engine, desa) as s:
            s.connection()
            own = statistik_desa(s, tanggal=stored.tanggal_acuan)
        assert stored.ringkas["penduduk"] == own["total"]["jumlah"] > 0
        assert stored.ringkas["ber_ktp_el"] == own["ktp_el"]["memiliki"]
        agama = {r["kode"]: r["laki_laki"] for r in stored.angka if r["dimensi"] == "agama"}
        assert agama == {("-" if i["kode"] is None else str(i["kode"])): i["laki_laki"] for i in own["agama"]}
        umur = sorted((r for r in stored.angka if r["dimensi"] == "umur"), key=lambda r: r["urut"])
        bands = [(r["kode"], r["jumlah"]) for r in umur]
        assert bands == [(b["kelompok"], b["jumlah"]) for b in own["kelompok_umur"]]
    with engine.connect() as conn:
        letters = conn.execute(text(
            "SELECT seri, sum(jumlah) FROM kawasan.rekap_bulanan WHERE desa_kode = ANY(:d) AND seri LIKE 'surat%' "
            "GROUP BY 1"), {"d": list(DESA_KERJA)}).all()
    letters = dict(letters)
    # The workload went through every kind of letter figure: issued, rejected or returned, decided above.
    assert letters.get("surat_diajukan", 0) > 0 and letters.get("surat_terbit", 0) > 0
    assert letters.get("surat_ditolak", 0) + letters.get("surat_dikembalikan", 0) > 0
    aksi = set()
    for desa in DESA_KERJA:
        with DesaSession(engine, desa) as s:
            aksi |= set(s.scalars(text("SELECT DISTINCT aksi FROM riwayat_permohonan")))
    assert {"diajukan", "diverifikasi", "ditandatangani"} <= aksi and aksi & {"setuju", "tolak", "kembalikan"}


def test_verify_reports_exactly_a_tampered_figure(engine, built, cli):
    desa = "15.08.14.2007"
    assert verifikasi(engine, desa)[1] == []
    with engine.begin() as conn:
        conn.execute(text("UPDATE kawasan.rekap_angka SET laki_laki = laki_laki + 3 "
                          "WHERE desa_kode = :d AND dimensi = 'agama' AND kode = '1'"), {"d": desa})
        actual = conn.scalar(text("SELECT laki_laki FROM kawasan.rekap_angka WHERE desa_kode = :d "
                                  "AND dimensi = 'agama' AND kode = '1'"), {"d": desa}) - 3
    try:
        _, selisih = verifikasi(engine, KEC)
        assert [s.as_dict() for s in selisih] == [
            {"desa": desa, "angka": "agama", "kunci": "1/laki_laki", "tersimpan": actual + 3, "sebenarnya": actual}]
        result = cli("stats", "verify", desa)
        assert result.returncode == 1, result.stderr
        assert result.stdout.splitlines() == [f"{desa}\tagama\t1/laki_laki\t{actual + 3}\t{actual}"]
        assert "1 desa checked, 1 with differences, 1 differing figures" in result.stderr
        rebuilt = cli("stats", "rebuild", desa)
        assert rebuilt.returncode == 0 and "1 desa rebuilt" in rebuilt.stdout
        ok = cli("stats", "verify", desa)
        assert ok.returncode == 0, ok.stdout
    finally:
        bangun_ulang(engine, desa)
    assert cli("stats", "verify", "15.08.99").returncode == 2  # unknown code


def test_verify_checks_the_kecamatan_sums_too(engine, built):
    """The dashboards read a region's breakdowns from sums kept beside the desa rows: checked as well."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE kawasan.rekap_angka_wilayah SET jumlah = jumlah + 1 "
                          "WHERE wilayah_kode = :w AND dimensi = 'status_kawin' AND kode = '2'"), {"w": KEC})
    try:
        _, selisih = verifikasi(engine, KEC)
        assert [(s.desa, s.angka, s.kunci, s.tersimpan - s.sebenarnya) for s in selisih] == [
            (KEC, "status_kawin", "2/jumlah", 1)]
    finally:
        bangun_ulang(engine, "15.08.14.2001")  # replacing any desa of the kecamatan sums it again
    assert verifikasi(engine, KEC)[1] == []


def test_a_burst_of_ten_thousand_changes_costs_one_recomputation(engine, built, relay, work, make_family):
    """10,000 committed changes, each marking the desa dirty exactly as the register's operations do
    (``mark_changed``), queue one event; one recomputation then counts them all."""
    members = make_family(desa=DESA_LEDAKAN, size=3)
    _drain(relay, work, engine)
    before = _dihitung_ke(engine, DESA_LEDAKAN)
    with engine.connect() as conn:
        first_event = conn.scalar(text("SELECT coalesce(max(id), 0) FROM kawasan.outbox"))
    ids = [m[2] for m in members]
    changes = 0
    # A resident's occupation changed 10,000 times, in 1,000 transactions of 10 (the services' validation and
    # logging are left out to keep the test short: they do not take part in coalescing).
    with DesaSession(engine, DESA_LEDAKAN) as s:
        for t in range(1000):
            for i in range(10):
                s.execute(text("UPDATE penduduk SET pekerjaan_id = :p WHERE id = :i"),
                          {"p": 1 + (t * 10 + i) % 80, "i": ids[(t + i) % len(ids)]})
                penduduk.mark_changed(s)
                changes += 1
            s.commit()
        expected = s.scalar(text("SELECT count(*) FROM penduduk WHERE status_dasar = 1 AND pekerjaan_id = 80"))
    assert changes == 10_000
    with engine.connect() as conn:
        queued = conn.scalar(text("SELECT count(*) FROM kawasan.outbox WHERE topic = 'penduduk.berubah' "
                                  "AND desa_kode = :d AND id > :i"), {"d": DESA_LEDAKAN, "i": first_event})
    assert queued == 1
    _drain(relay, work, engine)
    assert _dihitung_ke(engine, DESA_LEDAKAN) == before + 1
    with engine.connect() as conn:
        runs = conn.scalar(text("SELECT count(*) FROM kawasan.outbox WHERE topic = 'penduduk.berubah' "
                                "AND desa_kode = :d AND id > :i AND status = 'done'"),
                           {"d": DESA_LEDAKAN, "i": first_event})
        counted = conn.scalar(text("SELECT laki_laki + perempuan FROM kawasan.rekap_angka "
                                   "WHERE desa_kode = :d AND dimensi = 'pekerjaan' AND kode = '80'"),
                              {"d": DESA_LEDAKAN})
    assert runs == 1
    assert counted == expected  # that one run saw the last of the changes
    assert verifikasi(engine, DESA_LEDAKAN)[1] == []


def test_a_change_during_a_recomputation_is_not_lost(engine, built, relay, work, make_family):
    """The running job frees the coalescing key first: a change committed while it runs (which it may not
    see) waits for it and then queues an event of its own, instead of being folded into the running one."""
    import threading

    from workers.outbox import claim_coalesced

    desa = "15.08.14.2008"
    event = _pending_event(engine, relay, work, make_family, desa)
    assert event
    with engine.begin() as conn:  # what run_outbox_event and the handler do first
        conn.execute(text("SELECT 1 FROM kawasan.outbox WHERE id = :i FOR UPDATE"), {"i": event})
        claim_coalesced(conn, event)
        during = threading.Thread(target=make_family, kwargs={"desa": desa, "size": 1})
        during.start()
        during.join(0.5)  # its emit waits for this transaction
        conn.execute(text("UPDATE kawasan.outbox SET status = 'done' WHERE id = :i"), {"i": event})
    during.join(10)
    with engine.connect() as conn:
        pending = conn.scalar(text("SELECT count(*) FROM kawasan.outbox WHERE topic = 'penduduk.berubah' "
                                   "AND desa_kode = :d AND status = 'pending'"), {"d": desa})
    assert pending == 1
    _drain(relay, work, engine)
    assert verifikasi(engine, desa)[1] == []


def test_a_change_folded_into_the_pending_event_is_read_by_its_recomputation(engine, built, relay, work,
                                                                             make_family):
    """A change whose event was folded into the pending one, and which commits only while the recomputation
    starts, is waited for and counted by that recomputation."""
    import threading

    from service.penduduk.services import mark_changed
    from tenants.session import DesaSession
    from workers.jobs import JobContext

    desa = "15.08.14.2008"
    event = _pending_event(engine, relay, work, make_family, desa)
    change = DesaSession(engine, desa)
    change.execute(text("UPDATE penduduk SET status_dasar = 2 WHERE id = (SELECT max(id) FROM penduduk)"))
    mark_changed(change)  # folded into the pending event: nothing new is queued

    def recompute() -> None:
        from service.rekap.tasks import perbarui

        with engine.begin() as conn:  # what run_outbox_event does around the handler
            conn.execute(text("SELECT 1 FROM kawasan.outbox WHERE id = :i FOR UPDATE"), {"i": event})
            ctx = JobContext(conn, engine, event)
            perbarui(ctx, desa)
            conn.execute(text("UPDATE kawasan.outbox SET status = 'done' WHERE id = :i"), {"i": event})

    job = threading.Thread(target=recompute)
    job.start()
    job.join(0.5)
    assert job.is_alive()  # waiting for the change's transaction
    change.commit()
    change.close()
    job.join(20)
    assert not job.is_alive()
    assert verifikasi(engine, desa)[1] == []  # the recomputation counted the change


def test_ages_are_taken_at_the_reference_date(engine, built):
    """A rollup says at which date ages were taken; the same register at another date gives other bands."""
    desa = DESA_KERJA[0]
    with engine.connect() as conn:
        stored = tersimpan(conn, desa)
    later = hitung_desa(engine, desa, tanggal=stored.tanggal_acuan + timedelta(days=365 * 6))
    bands = lambda r: [a["jumlah"] for a in sorted(r.angka, key=lambda a: a["urut"]) if a["dimensi"] == "umur"]  # noqa: E731
    assert sum(bands(later)) == sum(bands(stored)) and bands(later) != bands(stored)


# --- the API -------------------------------------------------------------------------------------------------


@pytest.fixture
def tokens(token_for):
    return {
        "staf": bearer(token_for(("staf_kecamatan", KEC))),
        "camat_lain": bearer(token_for(("camat", "15.08.01"))),
        "kab": bearer(token_for(("staf_kabupaten", KAB))),
        "admin_kab": bearer(token_for(("admin_kabupaten", KAB))),
        "platform": bearer(token_for(("admin_platform", None))),
        "rio": bearer(token_for(("kepala_desa", "15.08.14.2001"))),
    }


def _sum(rows, key):
    return sum(r[key] for r in rows if r["tersedia"])


def test_kecamatan_totals_are_the_sum_of_its_desa(client, built, tokens):
    answer = client.get(f"/api/v1/wilayah/{KEC}/rekap", headers=tokens["staf"])
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    rows = body["per_desa"]
    assert body["wilayah"]["tingkat"] == "kecamatan" and {r["kecamatan"]["kode"] for r in rows} == {KEC}
    assert body["total"]["desa_tersedia"] >= 9
    for key in ("penduduk", "laki_laki", "perempuan", "jumlah_kk", "mutasi"):
        assert body["total"][key] == _sum(rows, key), key
    assert body["total"]["ktp_el"]["memiliki"] == sum(r["ktp_el"]["memiliki"] for r in rows if r["tersedia"])
    assert body["total"]["surat"]["diajukan"] == sum(r["surat"]["diajukan"] for r in rows if r["tersedia"])
    assert body["total"]["penduduk"] == body["total"]["laki_laki"] + body["total"]["perempuan"]
    assert sum(b["jumlah"] for b in body["rincian"]["umur"]) == body["total"]["penduduk"]
    assert sum(a["jumlah"] for a in body["rincian"]["agama"]) == body["total"]["penduduk"]
    assert body["tanggal_acuan"] and body["dihitung_pada"]["terbaru"]
    # The desa's own figures, recomputed now, are what the kecamatan shows for it.
    row = next(r for r in rows if r["kode"] == "15.08.14.2001")
    assert row["penduduk"] == hitung_desa(client.application.extensions["kawasan"].engine,
                                          "15.08.14.2001").ringkas["penduduk"]

    # The portal calls the same function directly, with a connection.
    from service.rekap.dasbor import rekap_wilayah

    with client.application.extensions["kawasan"].engine.connect() as conn:
        direct = rekap_wilayah(conn, KEC)
    assert direct["total"] == body["total"] and direct["per_desa"] == rows

    only = client.get(f"/api/v1/wilayah/{KEC}/rekap?desa=15.08.14.2001&desa=15.08.14.2002",
                      headers=tokens["staf"]).get_json()
    assert [r["kode"] for r in only["per_desa"]] == ["15.08.14.2001", "15.08.14.2002"]
    assert only["total"]["penduduk"] == sum(r["penduduk"] for r in rows
                                            if r["kode"] in ("15.08.14.2001", "15.08.14.2002"))


def test_kabupaten_per_kecamatan_rankings_and_series(client, built, tokens, engine):
    body = client.get(f"/api/v1/wilayah/{KAB}/rekap", headers=tokens["kab"]).get_json()
    assert len(body["per_desa"]) > 100  # every desa of Bungo is listed, computed or not
    kec = {k["kode"]: k for k in body["per_kecamatan"]}
    assert kec[KEC]["penduduk"] == _sum([r for r in body["per_desa"] if r["kecamatan"]["kode"] == KEC], "penduduk")
    assert sum(k["penduduk"] for k in body["per_kecamatan"]) == body["total"]["penduduk"]
    assert body["total"]["desa_tersedia"] == sum(1 for r in body["per_desa"] if r["tersedia"])

    top = client.get(f"/api/v1/wilayah/{KAB}/rekap/peringkat?ukuran=penduduk&jumlah=3",
                     headers=tokens["kab"]).get_json()
    values = [p["nilai"] for p in top["peringkat"]]
    assert values == sorted(values, reverse=True) and values[0] == max(
        r["penduduk"] for r in body["per_desa"] if r["tersedia"])
    bottom = client.get(f"/api/v1/wilayah/{KAB}/rekap/peringkat?ukuran=ktp_el&urutan=bawah",
                        headers=tokens["kab"]).get_json()
    values = [p["nilai"] for p in bottom["peringkat"]]
    assert values == sorted(values)
    by_kec = client.get(f"/api/v1/wilayah/{KAB}/rekap/peringkat?tingkat=kecamatan", headers=tokens["kab"]).get_json()
    assert by_kec["peringkat"][0]["nilai"] == max(k["penduduk"] for k in body["per_kecamatan"] if k["desa_tersedia"])
    assert {p["kode"] for p in by_kec["peringkat"]} <= {k["kode"] for k in body["per_kecamatan"]}
    assert client.get(f"/api/v1/wilayah/{KEC}/rekap/peringkat?tingkat=kecamatan",
                      headers=tokens["staf"]).status_code == 422

    # The dashboard's rankings, read once, are the API's rankings.
    from service.rekap.dasbor import peringkat_dasbor

    with engine.connect() as conn:
        dashboard = peringkat_dasbor(conn, KAB, ukuran="ktp_el", jumlah=10)
    assert dashboard["desa"]["bawah"] == bottom["peringkat"]
    assert dashboard["kecamatan"]["atas"] == client.get(
        f"/api/v1/wilayah/{KAB}/rekap/peringkat?tingkat=kecamatan&ukuran=ktp_el",
        headers=tokens["kab"]).get_json()["peringkat"]

    year = date.today().year
    monthly = client.get(f"/api/v1/wilayah/{KEC}/rekap/deret?tahun={year}", headers=tokens["staf"]).get_json()
    assert [d["periode"] for d in monthly["deret"]] == [f"{year}-{m:02d}" for m in range(1, 13)]
    with_year = client.get(f"/api/v1/wilayah/{KEC}/rekap?tahun={year}", headers=tokens["staf"]).get_json()
    assert sum(d["mutasi"]["jumlah"] for d in monthly["deret"]) == with_year["total"]["mutasi"]
    assert sum(d["surat"]["diajukan"] for d in monthly["deret"]) == with_year["total"]["surat"]["diajukan"]
    yearly = client.get(f"/api/v1/wilayah/{KEC}/rekap/deret?satuan=tahun", headers=tokens["staf"]).get_json()
    everything = client.get(f"/api/v1/wilayah/{KEC}/rekap", headers=tokens["staf"]).get_json()
    assert sum(d["mutasi"]["jumlah"] for d in yearly["deret"]) == everything["total"]["mutasi"]

    one = client.get(f"/api/v1/wilayah/{KEC}/rekap/desa/1508142003", headers=tokens["staf"]).get_json()
    assert sum(w["jumlah"] for w in one["rincian"]["wilayah"]) == one["ringkasan"]["penduduk"]
    assert client.get(f"/api/v1/wilayah/{KEC}/rekap/desa/15.08.01.2001", headers=tokens["staf"]).status_code == 404


def test_exports(client, built, tokens):
    answer = client.get(f"/api/v1/wilayah/{KEC}/rekap/ekspor?format=csv", headers=tokens["staf"])
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    body = client.get(f"/api/v1/wilayah/{KEC}/rekap", headers=tokens["staf"]).get_json()
    assert [r["kode"] for r in rows] == [r["kode"] for r in body["per_desa"]]
    assert sum(int(r["penduduk"] or 0) for r in rows) == body["total"]["penduduk"]

    from openpyxl import load_workbook

    xlsx = client.get(f"/api/v1/wilayah/{KAB}/rekap/ekspor?format=xlsx", headers=tokens["kab"])
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert book.sheetnames == ["per_desa", "per_kecamatan", "rincian"]
    assert sum(1 for _ in book["per_desa"].iter_rows()) == len(
        client.get(f"/api/v1/wilayah/{KAB}/rekap", headers=tokens["kab"]).get_json()["per_desa"]) + 1


def test_who_may_read_which_region_and_bad_codes(client, built, tokens):
    url = f"/api/v1/wilayah/{KEC}/rekap"
    assert client.get(url, headers=tokens["camat_lain"]).status_code == 403  # another kecamatan
    assert client.get(url, headers=tokens["rio"]).status_code == 403  # a desa account
    assert client.get(url, headers=tokens["kab"]).status_code == 200  # the kabupaten above
    assert client.get(url, headers=tokens["platform"]).status_code == 200
    assert client.get(f"/api/v1/wilayah/{KAB}/rekap", headers=tokens["staf"]).status_code == 403  # upwards
    unknown = client.get("/api/v1/wilayah/15.08.99/rekap", headers=tokens["platform"])
    assert unknown.status_code == 404
    as_desa = client.get("/api/v1/wilayah/15.08.14.2001/rekap", headers=tokens["platform"])
    assert as_desa.status_code == 404 and as_desa.get_json()["errors"][0]["field"] == "wilayah"
    foreign = client.get(f"{url}?desa=15.08.01.2001", headers=tokens["staf"])
    assert foreign.status_code == 422 and foreign.get_json()["errors"][0]["field"] == "desa"
    malformed = client.get(f"{url}?desa=abc", headers=tokens["staf"])
    assert malformed.status_code == 422 and malformed.get_json()["errors"][0]["field"] == "desa"
    assert client.get(f"{url}?tahun=20", headers=tokens["staf"]).status_code == 422


def test_verify_api(client, built, tokens):
    url = f"/api/v1/wilayah/{KEC}/rekap/verifikasi?desa=15.08.14.2001"
    assert client.get(url, headers=tokens["staf"]).status_code == 403
    assert client.get(url, headers=tokens["kab"]).status_code == 403  # staf_kabupaten is not an admin
    ok = client.get(url, headers=tokens["admin_kab"])
    assert ok.status_code == 200 and ok.get_json()["desa_diperiksa"] == 1 and ok.get_json()["selisih"] == []
    assert client.get(f"/api/v1/wilayah/{KEC}/rekap/verifikasi?desa=15.08.01.2001",
                      headers=tokens["admin_kab"]).status_code == 422
    platform = client.get("/api/v1/rekap/verifikasi?kode=15.08.14.2002", headers=tokens["platform"])
    assert platform.status_code == 200 and platform.get_json()["selisih"] == []
    assert client.get("/api/v1/rekap/verifikasi", headers=tokens["admin_kab"]).status_code == 403
    assert client.get("/api/v1/rekap/verifikasi?kode=99.99", headers=tokens["platform"]).status_code == 404


def test_demo_queues_a_recomputation_of_every_provisioned_desa(engine, built, relay, work):
    """What ``kawasan demo`` does for desa whose registers are not filled again (an earlier run's database)."""
    from service.demo import seed_rekap

    _drain(relay, work, engine)
    with engine.connect() as conn:
        before = dict(conn.execute(text("SELECT desa_kode, dihitung_ke FROM kawasan.rekap_desa")).all())
        ready = set(conn.scalars(text("SELECT kode FROM kawasan.tenant WHERE status = 'ready' "
                                      "AND kode LIKE '15.08.%'")))
    lines = seed_rekap(engine)
    assert f"{len(ready)} desa queued" in lines[0]
    _drain(relay, work, engine)
    with engine.connect() as conn:
        after = dict(conn.execute(text("SELECT desa_kode, dihitung_ke FROM kawasan.rekap_desa")).all())
    assert {k for k in ready if after.get(k, 0) == before.get(k, 0) + 1} == ready
