"""Importing the Kemendes IDM spreadsheet: the real layouts, messy cells, and row-level rejection."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from service.idm.impor import impor
from service.idm.skema import IDM_2016
from service.penduduk.impor import BerkasTidakValid

HEADER = ["KODE PROV", "NAMA PROVINSI", "KODE KAB", "NAMA KABUPATEN", "KODE KEC", "NAMA KECAMATAN", "KODE DESA",
          "NAMA DESA", "IKS 2023", "IKE 2023", "IKL 2023", "NILAI IDM 2023", "STATUS IDM 2023"]


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _stored(conn, tahun):
    return {r.desa_kode: r for r in conn.execute(text(
        "SELECT desa_kode, skor, nilai, status, sumber FROM kawasan.indeks_desa WHERE tahun = :t AND skema = 'IDM-2016'"
    ), {"t": tahun})}


def _count(conn) -> int:
    return conn.scalar(text("SELECT count(*) FROM kawasan.indeks_desa"))


def test_kemendes_recap_xlsx_with_title_rows_and_messy_cells(db_conn):
    data = _xlsx([
        ["REKAPITULASI INDEKS DESA MEMBANGUN TAHUN 2023"],
        ["KABUPATEN BUNGO"],
        [],
        HEADER,
        # codes as numbers, scores as numbers, as text with a decimal comma, with a leading apostrophe
        [15, "JAMBI", 1508, "BUNGO", 150814, "BATHIN III ULU", 1508142001, "MUARA BUAT", 0.7543, 0.6, 0.6667,
         0.6737, "BERKEMBANG"],
        ["15", "JAMBI", "1508", "BUNGO", "150814", "BATHIN III ULU", "'1508142002", "BUAT", "0,8171", "0,7500",
         "0,8000", "0,7890", "MAJU"],
        [15, "JAMBI", 1508, "BUNGO", 150814, "BATHIN III ULU", "15.08.14.2003", "LAMAN PANJANG", " 0.4907", "0.4907",
         "0.4907", "-", ""],
        [None, None, None, None, None, "JUMLAH", None, None, None, None, None, None, None],
    ])
    laporan = impor(db_conn, data, IDM_2016, wilayah="15.08", tahun=None, oleh="uji")
    assert not laporan.rejected, laporan.lines()
    assert (laporan.format, laporan.tahun, laporan.rows_total, laporan.inserted) == ("xlsx", [2023], 3, 3)
    stored = _stored(db_conn, 2023)
    assert stored["15.08.14.2001"].nilai == Decimal("0.6737") and stored["15.08.14.2001"].status == "berkembang"
    assert stored["15.08.14.2002"].nilai == Decimal("0.7890") and stored["15.08.14.2002"].status == "maju"
    assert stored["15.08.14.2002"].skor == {"iks": 0.8171, "ike": 0.75, "ikl": 0.8}
    assert stored["15.08.14.2003"].status == "sangat_tertinggal"  # exactly 0.4907
    assert {r.sumber for r in stored.values()} == {"impor"}
    # importing again updates, never duplicates
    again = impor(db_conn, data, IDM_2016, wilayah="15.08", tahun=None, oleh="uji")
    assert (again.inserted, again.updated) == (0, 3)


def test_year_on_a_second_header_row_and_semicolon_csv_with_tahun(db_conn):
    # The Berita Acara table: a two-row header, the year under IKS/IKE/IKL/NILAI IDM/STATUS IDM.
    data = _xlsx([
        ["KODE", "NAMA", "KODE", "NAMA", "KODE", "NAMA", "KODE DESA", "NAMA DESA", "IKS", "IKE", "IKL", "NILAI IDM",
         "STATUS IDM"],
        ["PROV", "PROVINSI", "KAB", "KABUPATEN", "KEC", "KECAMATAN", None, None, 2022, 2022, 2022, 2022, 2022],
        [15, "JAMBI", 1508, "BUNGO", 150814, "BATHIN III ULU", "1508142004", "KARAK APUNG", 0.6, 0.55, 0.5, 0.55,
         "Tertinggal"],
    ])
    laporan = impor(db_conn, data, IDM_2016, wilayah="15.08", tahun=None, oleh="uji")
    assert not laporan.rejected, laporan.lines()
    assert laporan.tahun == [2022] and _stored(db_conn, 2022)["15.08.14.2004"].status == "tertinggal"

    csv = _csv(["kode_desa;iks;ike;ikl", "1508142005;0,7;0,7;0,7"])
    with pytest.raises(BerkasTidakValid, match="tahun"):
        impor(db_conn, csv, IDM_2016, wilayah="15.08", tahun=None, oleh="uji")
    assert not impor(db_conn, csv, IDM_2016, wilayah="15.08", tahun=2021, oleh="uji").rejected
    assert _stored(db_conn, 2021)["15.08.14.2005"].status == "berkembang"


def test_wide_file_with_several_years_and_a_long_file_with_a_tahun_column(db_conn):
    wide = _csv([
        "NAMA DESA,KODE DESA,IKS 2019,IKE 2019,IKL 2019,IKS 2020,IKE 2020,IKL 2020,STATUS IDM 2020",
        "MUARA BUAT,1508142001,0.60,0.50,0.55,0.75,0.70,0.70,MAJU",
        "BUAT,1508142002,,,,0.62,0.60,0.61,BERKEMBANG",  # no 2019 figures for this desa
    ])
    laporan = impor(db_conn, wide, IDM_2016, wilayah="15.08.14", tahun=None, oleh="uji")
    assert not laporan.rejected, laporan.lines()
    assert laporan.tahun == [2019, 2020] and laporan.inserted == 3
    assert _stored(db_conn, 2020)["15.08.14.2001"].status == "maju"
    only_2019 = impor(db_conn, wide, IDM_2016, wilayah="15.08.14", tahun=2019, oleh="uji")
    assert only_2019.tahun == [2019] and only_2019.updated == 1

    long = _csv(["kode_desa,tahun,iks,ike,ikl", "1508142006,2017,0.5,0.5,0.5", "1508142006,2018,0.6,0.6,0.6"])
    laporan = impor(db_conn, long, IDM_2016, wilayah="15.08", tahun=None, oleh="uji")
    assert laporan.tahun == [2017, 2018] and laporan.inserted == 2
    assert _stored(db_conn, 2018)["15.08.14.2006"].status == "berkembang"


def test_a_malformed_file_is_reported_row_by_row_and_nothing_is_written(db_conn):
    before = _count(db_conn)
    data = _csv([
        "Rekap IDM 2024",
        "KODE DESA,NAMA DESA,IKS 2024,IKE 2024,IKL 2024,NILAI IDM 2024,STATUS IDM 2024",
        "1508142001,MUARA BUAT,0.70,0.70,0.70,0.7000,BERKEMBANG",  # fine
        "1508142099,TIDAK ADA,0.70,0.70,0.70,,",  # row 4: unknown code
        "1508031006,TANJUNG GEDANG,0.70,0.70,0.70,,",  # row 5: a kelurahan
        "1509012001,DESA TEBO,0.70,0.70,0.70,,",  # row 6: another kabupaten
        "1508142002,BUAT,abc,0.70,0.70,,",  # row 7: not a number
        "1508142003,LAMAN PANJANG,0.70,1.5,0.70,,",  # row 8: out of range
        "1508142004,KARAK APUNG,0.70,0.70,0.70,0.8000,",  # row 9: index does not match the scores
        "1508142001,MUARA BUAT,0.70,0.70,0.70,,",  # row 10: repeated
        "15081420,PENDEK,0.70,0.70,0.70,,",  # row 11: a kecamatan-length code
        ",,0.5,0.5,0.5,,",  # row 12: scores without a code
        "1508142005,TIMBOLASI,0.70,0.70,0.70,,MANDIRI",  # a status that differs: a warning only
    ])
    laporan = impor(db_conn, data, IDM_2016, wilayah="15.08", tahun=None, oleh="uji")
    assert laporan.rejected
    problems = {(e.row, e.column) for e in laporan.errors}
    assert problems == {(4, "KODE DESA"), (5, "KODE DESA"), (6, "KODE DESA"), (7, "IKS 2024"), (8, "IKE 2024"),
                        (9, "NILAI IDM 2024"), (10, "KODE DESA"), (11, "KODE DESA"), (12, "KODE DESA")}
    messages = {e.row: e.message for e in laporan.errors}
    assert "tidak dikenal" in messages[4] and "kelurahan" in messages[5] and "di luar wilayah" in messages[6]
    assert "baris 3" in messages[10]
    assert [(w.row, w.column) for w in laporan.warnings] == [(13, "STATUS IDM 2024")]
    assert _count(db_conn) == before  # nothing written, not even the good rows


def test_a_kecamatan_region_refuses_the_neighbouring_kecamatan(db_conn):
    data = _csv(["kode_desa,iks,ike,ikl", "1508012001,0.6,0.6,0.6"])
    laporan = impor(db_conn, data, IDM_2016, wilayah="15.08.14", tahun=2023, oleh="uji")
    assert laporan.rejected and "di luar wilayah 15.08.14" in laporan.errors[0].message


@pytest.mark.parametrize(("data", "message"), [
    (b"", "kosong"),
    (_csv(["nama,nilai", "a,1"]), "KODE DESA"),
    (_csv(["kode_desa,iks,ike", "1508142001,0.5,0.5"]), "IKL"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
])
def test_unreadable_files_are_refused_before_any_row(db_conn, data, message):
    with pytest.raises(BerkasTidakValid, match=message):
        impor(db_conn, data, IDM_2016, wilayah="15.08", tahun=2023, oleh="uji")


def test_check_only_writes_nothing(db_conn):
    before = _count(db_conn)
    data = _csv(["kode_desa,iks,ike,ikl", "1508142007,0.6,0.6,0.6"])
    laporan = impor(db_conn, data, IDM_2016, wilayah="15.08", tahun=2023, oleh="uji", periksa_saja=True)
    assert not laporan.rejected and laporan.periksa_saja and _count(db_conn) == before
