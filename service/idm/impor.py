"""Import of IDM scores from the Kemendes spreadsheet layout (xlsx or CSV), keyed by the Kemendagri desa code.

The layout is the Kemendes recapitulation ("Rekapitulasi IDM", also the table of the Berita Acara Penetapan
Status Desa): ``KODE PROV, NAMA PROVINSI, KODE KAB, NAMA KABUPATEN, KODE KEC, NAMA KECAMATAN, KODE DESA,
NAMA DESA, IKS 2023, IKE 2023, IKL 2023, NILAI IDM 2023, STATUS IDM 2023`` with undotted codes
(``6303112002``) [id.scribd.com/document/653949061, a Berita Acara IDM 2023]. Kabupaten working files put
several years side by side (``IKS 2021 … IKS 2024``, ``STATUS IDM 2024``) and some print the year on a
second header row under ``IKS``/``IKE``/``IKL``. All of these are read:

* the header row is found among the first rows (a desa code column and at least one IKS/IKE/IKL column);
  a year on the row below it is merged into the column names;
* columns without a year take ``--tahun``; with ``tahun`` given, only that year's columns are read;
* cells are messy as in real files: numbers as text, decimal commas (``0,6571``), codes as numbers
  (``6303112002.0``), a leading ``'``, dotted or bare codes, ``-`` for empty; names are not used (the code
  is the key, names repeat inside one kecamatan);
* ``NILAI IDM`` and ``STATUS IDM``, when present, are cross-checked: an index that differs from
  (IKS+IKE+IKL)/3 by more than rounding is an error (the columns are probably misread), a status that differs
  from the computed one is a warning (the stored status is always the computed one).

A row whose code is malformed, unknown, a kelurahan (the IDM measures desa only) or outside the caller's
region is an error, as is a code repeated for the same year. Any error rejects the whole file: nothing is
written. The report gives (row as the spreadsheet numbers it, column as named in the file, message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from service.idm.models import IndeksDesa
from service.idm.services import TAHUN_MAX, TAHUN_MIN, Baris, SkorTidakValid, angka, hitung, simpan
from service.idm.skema import ALIAS, LABEL, Skema

# The readers and report types of the register import: one reading of xlsx/CSV uploads in the code base.
from service.penduduk.impor import (
    BerkasTidakValid,
    LaporanBaris,
    csv_rows,
    slug_header,
    sniff,
    xlsx_rows,
)
from service.regions.codes import InvalidKode, Tingkat, parse_kode
from service.regions.models import WilayahAdministrasi

HEADER_SEARCH_ROWS = 20
#: Names of the desa code column, most specific first ("KODE" alone only when nothing better is there).
KODE_COLUMNS = ("kode_desa", "kode_desa_kelurahan", "kodedesa", "kd_desa", "id_desa", "kode_kemendagri",
                "kode_wilayah", "kode")
#: Column slug (without year) → what it holds.
_JENIS = {"iks": "iks", "ike": "ike", "ikl": "ikl", "nilai_idm": "nilai", "idm": "nilai", "skor_idm": "nilai",
          "status_idm": "status", "status": "status"}
_KOLOM = re.compile(r"^(iks|ike|ikl|nilai_idm|skor_idm|idm|status_idm|status)(?:_?(\d{4}))?$")
#: |file's index − computed| above this is an error: four-decimal rounding of three scores and of the
#: index itself stays below it.
TOLERANSI = 0.0002


@dataclass
class Laporan(LaporanBaris):
    format: str = ""
    skema: str = ""
    tahun: list[int] = field(default_factory=list)
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: bool = False
    periksa_saja: bool = False
    ignored_columns: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"berkas: {self.format}, skema {self.skema}, tahun {', '.join(map(str, self.tahun)) or '-'}, "
               f"{self.rows_total} baris / rows"]
        if self.rejected:
            out.append(f"DITOLAK / REJECTED: {self.errors_total} kesalahan / errors; nothing was written")
        elif self.periksa_saja:
            out.append("diperiksa saja / checked only: no errors, nothing was written")
        else:
            out.append(f"baru / inserted: {self.inserted}, diubah / updated: {self.updated}")
        out += [f"  error   baris {e.row}, kolom {e.column}: {e.message}" for e in self.errors]
        out += [f"  warning baris {w.row}, kolom {w.column}: {w.message}" for w in self.warnings]
        if self.ignored_columns:
            out.append("kolom diabaikan / ignored columns: " + ", ".join(self.ignored_columns))
        return out


@dataclass
class _Kolom:
    jenis: str  # iks | ike | ikl | nilai | status
    tahun: int | None
    posisi: int
    nama: str


def _tahun_sel(cell: Any) -> int | None:
    try:
        value = int(float(str(cell).strip()))
    except (TypeError, ValueError):
        return None
    return value if TAHUN_MIN <= value <= TAHUN_MAX and str(cell).strip().split(".")[0] == str(value) else None


def _header(rows: list[list[Any]], sk: Skema) -> tuple[int, int, int, int | None, list[_Kolom], list[str]]:
    """(header row index, first data row index, code column, year column or None, score columns, ignored)."""
    dims = set(sk.dimensi)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        slugs = [slug_header(c) if c not in (None, "") else "" for c in row]
        kode_pos = next((slugs.index(name) for name in KODE_COLUMNS if name in slugs), None)
        if kode_pos is None:
            continue
        tahun_pos = slugs.index("tahun") if "tahun" in slugs else None
        below = rows[index + 1] if index + 1 < len(rows) else []
        kolom, ignored, used_below = [], [], False
        for position, slug in enumerate(slugs):
            match = _KOLOM.match(slug) if slug else None
            if not match:
                if slug and position not in (kode_pos, tahun_pos):
                    ignored.append(str(row[position]).strip())
                continue
            jenis = _JENIS[match.group(1)]
            tahun = int(match.group(2)) if match.group(2) else None
            if tahun is None and position < len(below) and (year := _tahun_sel(below[position])) is not None:
                tahun, used_below = year, True  # the year printed on a second header row
            kolom.append(_Kolom(jenis, tahun, position, str(row[position]).strip()
                                + (f" {tahun}" if tahun and not match.group(2) else "")))
        if not any(k.jenis in dims for k in kolom):
            continue
        return index, index + (2 if used_below else 1), kode_pos, tahun_pos, kolom, ignored
    raise BerkasTidakValid(
        "baris judul kolom tidak ditemukan: kolom KODE DESA dan IKS/IKE/IKL wajib ada / header row not found: "
        "columns KODE DESA and IKS, IKE, IKL are required"
    )


def _kode_sel(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell if cell is not None else "").strip().lstrip("'").strip()


def _status_sel(cell: Any) -> str | None:
    text = re.sub(r"[^a-z]+", " ", str(cell or "").lower()).strip()
    text = text.removeprefix("desa ").strip()
    if not text:
        return None
    for status, label in LABEL.items():
        if text in (label.lower(), ALIAS[status].lower().replace("-", " ")):
            return status
    return "?" + text


def baca(data: bytes, conn: Connection, sk: Skema, *, wilayah: str | None, tahun: int | None
         ) -> tuple[Laporan, list[Baris]]:
    """Parse and check an upload without writing; :class:`BerkasTidakValid` when it cannot be read at all."""
    if not sk.tersedia:
        raise BerkasTidakValid(f"skema {sk.kode} belum dapat diimpor / not importable yet: {sk.catatan}")
    kind = sniff(data)
    rows = xlsx_rows(data) if kind == "xlsx" else csv_rows(data)
    header_index, start, kode_pos, tahun_pos, kolom, ignored = _header(rows, sk)
    dims = list(sk.dimensi)
    years_in_file = sorted({k.tahun for k in kolom if k.tahun is not None and k.jenis in dims})
    # Long layout: one row per desa and year, the year in a TAHUN column (score columns without a year).
    long_layout = tahun_pos is not None and not years_in_file
    if tahun is not None and not long_layout:
        kolom = [k for k in kolom if k.tahun in (tahun, None)]
        for k in kolom:
            k.tahun = tahun
    elif not long_layout and any(k.tahun is None for k in kolom if k.jenis in dims):
        raise BerkasTidakValid("kolom tanpa tahun (mis. 'IKS'): sebutkan tahun / columns without a year: give "
                               "tahun", 422)
    per_year: dict[int | None, dict[str, _Kolom]] = {}
    for k in kolom:
        per_year.setdefault(k.tahun, {}).setdefault(k.jenis, k)
    if not any(d in cols for cols in per_year.values() for d in dims):
        raise BerkasTidakValid(f"tidak ada kolom untuk tahun {tahun} (ada: {years_in_file}) / no columns for that "
                               "year", 422)
    for year, cols in per_year.items():
        missing = [d.upper() for d in dims if d not in cols]
        if missing:
            raise BerkasTidakValid(f"kolom {', '.join(missing)} {year or ''} tidak ada / columns missing", 422)
    laporan = Laporan(format=kind, skema=sk.kode, ignored_columns=ignored)

    parsed: list[tuple[int, str, list[Any]]] = []
    width = max(kode_pos, tahun_pos or 0, *(k.posisi for k in kolom)) + 1
    for number, row in enumerate(rows[start:], start=start + 1):
        row = list(row) + [""] * (width - len(row))
        kode_raw = _kode_sel(row[kode_pos])
        scores_blank = all(angka_kosong(row[k.posisi]) for k in kolom if k.jenis in dims)
        if not kode_raw and scores_blank:
            continue  # blank lines, sub-totals ("JUMLAH") without scores
        if long_layout and tahun is not None and _tahun_sel(row[tahun_pos]) != tahun:
            continue  # another year of a long file
        parsed.append((number, kode_raw, row))
    laporan.rows_total = len(parsed)
    if not parsed:
        raise BerkasTidakValid("tidak ada baris data di bawah judul kolom / no data rows under the header")

    kode_name = str(rows[header_index][kode_pos]).strip()
    codes: dict[int, str] = {}
    for number, kode_raw, _row in parsed:
        if not kode_raw:
            laporan.add_error(number, kode_name, "kode desa kosong / desa code is empty")
            continue
        try:
            kode = parse_kode(kode_raw)
        except InvalidKode:
            laporan.add_error(number, kode_name, f"{kode_raw[:20]!r} bukan kode desa Kemendagri / not a desa code")
            continue
        if kode.tingkat is not Tingkat.DESA:
            laporan.add_error(number, kode_name, f"{kode} bukan kode desa (10 digit) / not a desa code")
            continue
        codes[number] = kode.dotted
    known = dict(conn.execute(
        select(WilayahAdministrasi.kode, WilayahAdministrasi.jenis)
        .where(WilayahAdministrasi.kode.in_(set(codes.values())))
    ).all()) if codes else {}

    hasil: list[Baris] = []
    seen: dict[tuple[str, int], int] = {}
    for number, _kode_raw, row in parsed:
        kode = codes.get(number)
        if kode is None:
            continue
        if wilayah and not kode.startswith(wilayah + "."):
            laporan.add_error(number, kode_name, f"{kode} di luar wilayah {wilayah} / outside your region")
            continue
        if kode not in known:
            laporan.add_error(number, kode_name, f"{kode}: kode desa tidak dikenal / unknown desa code")
            continue
        if known[kode] != "desa":
            laporan.add_error(number, kode_name, f"{kode} adalah kelurahan: IDM hanya untuk desa / a kelurahan "
                                                 "is not measured by the IDM")
            continue
        if long_layout:
            year = _tahun_sel(row[tahun_pos])
            if year is None:
                laporan.add_error(number, str(rows[header_index][tahun_pos]).strip(),
                                  f"tahun {str(row[tahun_pos])[:10]!r} tidak sah / not a valid year")
                continue
            readings = [(year, per_year[None])]
        else:
            readings = sorted(per_year.items())
        for year, cols in readings:
            if len(years_in_file) > 1 and all(angka_kosong(row[cols[d].posisi]) for d in dims):
                continue  # a file of several years may leave a year empty for a desa
            if (kode, year) in seen:
                laporan.add_error(number, kode_name, f"{kode} tahun {year} sudah ada di baris {seen[kode, year]} / "
                                                     "repeated in the file")
                continue
            seen[kode, year] = number
            try:
                h = hitung(sk, {d: row[cols[d].posisi] for d in dims})
            except SkorTidakValid as exc:
                laporan.add_error(number, cols[exc.field].nama, str(exc))
                continue
            if "nilai" in cols:
                try:
                    given = angka(row[cols["nilai"].posisi])
                except ValueError as exc:
                    laporan.add_error(number, cols["nilai"].nama, str(exc))
                    continue
                if given is not None and abs(float(given) - float(h.nilai)) > TOLERANSI:
                    laporan.add_error(number, cols["nilai"].nama,
                                      f"{given} ≠ (IKS+IKE+IKL)/3 = {h.nilai} / does not match the scores")
                    continue
            if "status" in cols:
                given_status = _status_sel(row[cols["status"].posisi])
                if given_status is not None and given_status != h.status:
                    laporan.add_warning(number, cols["status"].nama,
                                        f"berkas: {str(row[cols['status'].posisi]).strip()[:30]}, dihitung: "
                                        f"{LABEL[h.status]} (nilai {h.nilai}); disimpan yang dihitung / the "
                                        "computed status is stored")
            hasil.append(Baris(kode, year, h))
    laporan.tahun = sorted({r.tahun for r in hasil})
    laporan.rejected = laporan.errors_total > 0
    return laporan, hasil


def angka_kosong(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip() in ("", "-"))


def impor(conn: Connection, data: bytes, sk: Skema, *, wilayah: str | None, tahun: int | None, oleh: str,
          periksa_saja: bool = False) -> Laporan:
    """Check, then write every row in the caller's transaction, or nothing when there is any error."""
    laporan, rows = baca(data, conn, sk, wilayah=wilayah, tahun=tahun)
    laporan.periksa_saja = periksa_saja
    if laporan.rejected or periksa_saja:
        return laporan
    keys = {(r.desa_kode, r.tahun) for r in rows}
    before = set(conn.execute(
        select(IndeksDesa.desa_kode, IndeksDesa.tahun)
        .where(IndeksDesa.skema == sk.kode, IndeksDesa.desa_kode.in_({k for k, _ in keys}))
    ).tuples()) & keys
    simpan(conn, sk, rows, sumber="impor", oleh=oleh)
    laporan.updated = len(before)
    laporan.inserted = len(keys) - len(before)
    return laporan
