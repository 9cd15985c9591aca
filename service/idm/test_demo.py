"""The demo's IDM history: shaped like Bungo's story (1 dusun maju in 2016, 28 in 2020), deterministic."""

from __future__ import annotations

from collections import Counter

from service.idm.demo import TARGET, riwayat_sintetis, seed_idm_demo
from service.idm.services import desa_di_wilayah, distribusi, simpan
from service.idm.skema import IDM_2016, STATUS


def _desa(conn):
    return [(d.kode, d.kec_kode) for d in desa_di_wilayah(conn, "15.08")]


def test_history_tells_the_bungo_story_and_is_the_same_every_time(db_conn):
    desa = _desa(db_conn)
    assert len(desa) == 141  # Bungo's 153 villages less its 12 kelurahan, which the IDM does not measure
    rows = riwayat_sintetis(desa)
    assert rows == riwayat_sintetis(list(reversed(desa)))  # seeded, independent of the order given
    per_year = {t: Counter(r.hasil.status for r in rows if r.tahun == t) for t in TARGET}
    assert per_year[2016]["maju"] == 1 and per_year[2016]["mandiri"] == 0
    assert per_year[2020]["maju"] == 28 and per_year[2020]["mandiri"] == 0
    assert all(sum(c.values()) == 141 for c in per_year.values())
    # no desa falls back a status from one year to the next
    by_desa: dict[str, list[int]] = {}
    for r in sorted(rows, key=lambda r: r.tahun):
        by_desa.setdefault(r.desa_kode, []).append(STATUS.index(r.hasil.status))
    assert all(levels == sorted(levels) for levels in by_desa.values())

    simpan(db_conn, IDM_2016, rows, sumber="demo", oleh="demo", timpa=False)
    kab = distribusi(db_conn, "15.08", IDM_2016, dari=2016, sampai=2024)
    counts = {y["tahun"]: y["jumlah"] for y in kab["tahun"]}
    assert counts[2016]["maju"] == 1 and counts[2020]["maju"] == 28
    assert [y["belum_diukur"] for y in kab["tahun"]] == [0] * 9


def test_seeding_twice_adds_nothing_and_keeps_real_rows(fresh_database):
    fresh = fresh_database()
    with fresh.engine.begin() as conn:
        real = [r for r in riwayat_sintetis(_desa(conn)) if r.desa_kode == "15.08.14.2001" and r.tahun == 2016]
        simpan(conn, IDM_2016, real, sumber="impor", oleh="uji")
    assert seed_idm_demo(fresh.engine) == 141 * 9 - 1
    assert seed_idm_demo(fresh.engine) == 0
    from service.demo import seed_idm_peta  # what `kawasan demo` runs: history kept, the points added

    assert "0 rows added; map points (synthetic): 153 added" in seed_idm_peta(fresh.engine)[0]
    with fresh.engine.connect() as conn:
        sumber = conn.exec_driver_sql("SELECT sumber FROM kawasan.indeks_desa WHERE desa_kode = '15.08.14.2001' "
                                      "AND tahun = 2016").scalar()
    assert sumber == "impor"
