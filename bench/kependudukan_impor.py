"""Population-register import benchmark: 100,000 residents from xlsx and from CSV.

Run from the project root::

    .venv/bin/python bench/kependudukan_impor.py [--database-url URL] [-n 100000] [--keep-files DIR]

It generates ``n`` realistic residents (families of 3 to 5 in 9 dusun with RW/RT, structurally valid NIKs
and KK numbers whose dates agree with the birth dates, OpenSID codes) and writes them in OpenSID's
FormatImporExcel layout twice: as xlsx (openpyxl, write-only, date cells) and as CSV (``;`` separated,
``DD-MM-YYYY`` text dates, ``-`` for empty). Each file is imported into its own freshly provisioned desa of
a fresh database on the server (the embedded pgserver under ``.kawasan-bench/`` when neither
``--database-url`` nor ``DATABASE_URL`` is given), which is dropped at the end with its desa roles.

Figures (stdout, one per line, with units): each format is imported ``--runs`` times (3 by default) into
the emptied desa, each run after a CHECKPOINT (so that one run's WAL is not written out during the next);
the totals of every run, and for the median run seconds to read + parse, to validate, to load into the
database (one transaction, committed), and the total, against the targets (xlsx ≤ 15 s, CSV ≤ 5 s,
validation included; the verdict is on the median). Then a re-import of the CSV into the same desa (every
resident already registered, nothing changed), an export, and the machine facts.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import MIGRATIONS, bench_settings, note, open_server, out  # noqa: E402
from bench.tenancy import machine_lines  # noqa: E402

KECAMATAN = "150814"  # Bathin III Ulu
DESA_XLSX = "15.08.14.2001"
DESA_CSV = "15.08.14.2002"
DEFAULT_N = 100_000
TARGET_XLSX_S = 15.0
TARGET_CSV_S = 5.0

MALE = ("Ahmad", "Budi", "Candra", "Darmawan", "Edi", "Fajar", "Gunawan", "Hendra", "Irfan", "Joko", "Kurniawan",
        "Lukman", "Mulyadi", "Nasrul", "Rahmat", "Syahrial", "Taufik", "Yusuf", "Zulkifli", "Hasan")
FEMALE = ("Aisyah", "Bunga", "Citra", "Dewi", "Erna", "Fitri", "Gita", "Hartini", "Indah", "Juliana", "Kartini",
          "Lestari", "Maryam", "Nurhayati", "Rina", "Siti", "Titin", "Wulan", "Yuliani", "Zahra")
FAMILY = ("Saputra", "Hidayat", "Siregar", "Nasution", "Lubis", "Harahap", "Pratama", "Wijaya", "Rangkuti",
          "Syahputra", "Simanjuntak", "Batubara", "Putri", "Rahayu", "Sari")
PLACES = ("Muara Bungo", "Jambi", "Rantau Keloyang", "Sarolangun", "Padang", "Palembang", "Muaro Tebo")
DUSUN = ("Dusun Baru", "Dusun Tengah", "Dusun Ilir", "Dusun Ulu", "Sungai Arang", "Karak Apung",
         "Talang Pamesun", "Lubuk Kayu Aro", "Pasar Rantau")
HEADER = ("alamat", "dusun", "rw", "rt", "nama", "no_kk", "nik", "sex", "tempatlahir", "tanggallahir", "agama_id",
          "pendidikan_kk_id", "pendidikan_sedang_id", "pekerjaan_id", "status_kawin", "kk_level", "warganegara_id",
          "ayah_nik", "nama_ayah", "ibu_nik", "nama_ibu", "golongan_darah_id", "akta_lahir", "dokumen_pasport",
          "tanggal_akhir_paspor", "dokumen_kitas", "akta_perkawinan", "tanggalperkawinan", "akta_perceraian",
          "tanggalperceraian", "cacat_id", "cara_kb_id", "hamil", "ktp_el", "status_rekam", "alamat_sekarang",
          "status_dasar", "suku", "tag_id_card", "id_asuransi", "no_asuransi", "lat", "lng")


# --------------------------------------------------------------------------- data


class Generator:
    """Structurally valid, unique NIKs and KK numbers (``tests.fixtures.new_nik`` logic, deduplicated)."""

    def __init__(self, seed: int = 20261122):
        self.rnd = random.Random(seed)
        self.niks: set[str] = set()
        self.kks: set[str] = set()

    def nik(self, born: date, female: bool) -> str:
        day = born.day + (40 if female else 0)
        while True:
            nik = f"{KECAMATAN}{day:02d}{born.month:02d}{born.year % 100:02d}{self.rnd.randint(1, 9999):04d}"
            if nik not in self.niks:
                self.niks.add(nik)
                return nik

    def no_kk(self) -> str:
        while True:
            issued = date(2010, 1, 1) + timedelta(days=self.rnd.randint(0, 5000))
            kk = f"{KECAMATAN}{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}{self.rnd.randint(1, 9999):04d}"
            if kk not in self.kks:
                self.kks.add(kk)
                return kk

    def birth(self, min_age: int, max_age: int) -> date:
        today = date.today()
        return today - timedelta(days=self.rnd.randint(min_age * 365, max_age * 365))

    def rows(self, n: int) -> list[dict]:
        rnd = self.rnd
        rows: list[dict] = []
        while len(rows) < n:
            size = min(rnd.randint(3, 5), n - len(rows))
            no_kk = self.no_kk()
            dusun = rnd.choice(DUSUN)
            rw, rt = f"{rnd.randint(1, 3):03d}", f"{rnd.randint(1, 4):03d}"
            alamat = f"Jl. {rnd.choice(FAMILY)} No. {rnd.randint(1, 200)}"
            surname = rnd.choice(FAMILY)
            father_born, mother_born = self.birth(25, 70), self.birth(22, 65)
            father = {"sex": 1, "born": father_born, "nama": f"{rnd.choice(MALE)} {surname}", "kk_level": 1,
                      "status_kawin": 2}
            members = [father]
            if size > 1:
                members.append({"sex": 2, "born": mother_born, "nama": f"{rnd.choice(FEMALE)} {rnd.choice(FAMILY)}",
                                "kk_level": 3, "status_kawin": 2})
            youngest = min(father_born, mother_born) + timedelta(days=18 * 365)
            for _ in range(size - len(members)):
                sex = rnd.randint(1, 2)
                born = youngest + timedelta(days=rnd.randint(0, max((date.today() - youngest).days, 1)))
                members.append({"sex": sex, "born": min(born, date.today() - timedelta(days=30)),
                                "nama": f"{rnd.choice(MALE if sex == 1 else FEMALE)} {surname}", "kk_level": 4,
                                "status_kawin": 1, "child": True})
            nik_father = nik_mother = None
            for m in members:
                m["nik"] = self.nik(m["born"], m["sex"] == 2)
                if m["kk_level"] == 1:
                    nik_father = m["nik"]
                elif m["kk_level"] == 3:
                    nik_mother = m["nik"]
            for m in members:
                child = m.get("child", False)
                rows.append({
                    "alamat": alamat, "dusun": dusun, "rw": rw, "rt": rt, "nama": m["nama"], "no_kk": no_kk,
                    "nik": m["nik"], "sex": m["sex"], "tempatlahir": rnd.choice(PLACES), "tanggallahir": m["born"],
                    "agama_id": rnd.choice((1, 1, 1, 1, 2, 3)), "pendidikan_kk_id": rnd.randint(1, 10),
                    "pendidikan_sedang_id": 18, "pekerjaan_id": rnd.choice((1, 2, 3, 9, 9, 9, 19, 88)),
                    "status_kawin": m["status_kawin"], "kk_level": m["kk_level"], "warganegara_id": 1,
                    "ayah_nik": nik_father if child else None,
                    "nama_ayah": father["nama"] if child else f"Ayah {m['nama'].split()[0]}",
                    "ibu_nik": nik_mother if child else None, "nama_ibu": f"Ibu {m['nama'].split()[0]}",
                    "golongan_darah_id": rnd.randint(1, 13),
                    "akta_lahir": f"1508-LT-{rnd.randint(10**7, 10**8 - 1)}" if child else None,
                    "akta_perkawinan": None if child else f"{rnd.randint(100, 999)}/KUA/{rnd.randint(1990, 2020)}",
                    "tanggalperkawinan": None if child else max(father_born, mother_born) + timedelta(days=22 * 365),
                    "cacat_id": 7, "hamil": None if m["sex"] == 1 else 2, "ktp_el": 2 if not child else 1,
                    "status_rekam": 3 if not child else 1, "alamat_sekarang": alamat, "status_dasar": 1,
                    "suku": rnd.choice(("Melayu", "Jawa", "Minang", "Batak")),
                })
        return rows


def write_xlsx(rows: list[dict], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Data Penduduk")
    sheet.append(list(HEADER))
    for row in rows:
        cells = []
        for column in HEADER:
            value = row.get(column)
            if isinstance(value, date):
                value = WriteOnlyCell(sheet, value=value)
                value.number_format = "dd-mm-yyyy"
            elif column in ("nik", "no_kk", "ayah_nik", "ibu_nik") and value is not None:
                value = float(value) if column == "nik" and row["kk_level"] == 4 else value  # messy: NIK as number
            cells.append("-" if value is None else value)
        sheet.append(cells)
    workbook.save(path)


def write_csv(rows: list[dict], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(["-" if (v := row.get(c)) is None else v.strftime("%d-%m-%Y") if isinstance(v, date) else v
                         for c in HEADER])
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


# --------------------------------------------------------------------------- run


def timed_import(engine, desa: str, data: bytes, *, pipeline: bool = True) -> dict:
    """One import as the API's worker and the CLI run it (``impor.import_bytes``), committed. ``pipeline``
    False: every row is checked before the first is written, so the two figures do not overlap."""
    from service.penduduk import impor
    from tenants.session import DesaSession

    impor.PIPELINE = pipeline
    with DesaSession(engine, desa) as session:
        started = time.perf_counter()
        report = impor.import_bytes(session, data, actor="bench")
        if report.rejected:
            raise SystemExit("bench data rejected: " + "; ".join(report.lines()[:10]))
        before_commit = time.perf_counter()
        session.commit()
        finished = time.perf_counter()
    seconds = dict(report.seconds)
    return {"parse": seconds["baca"], "validate": seconds["validasi"], "database": seconds.get("basis_data", 0.0),
            "waiting": seconds["tunggu_basis_data"], "commit": finished - before_commit, "total": finished - started,
            "steps": {k: v for k, v in seconds.items() if k.startswith("db_")}, "inserted": report.inserted,
            "updated": report.updated, "unchanged": report.unchanged, "keluarga": report.keluarga_baru,
            "wilayah": report.wilayah_baru, "warnings": report.warnings_total}


def checkpoint(engine) -> None:
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))


def repeated_import(engine, desa: str, data: bytes, runs: int, label: str, target: float | None) -> None:
    """``runs`` imports of ``data`` into the emptied desa; every total, then the median run in detail."""
    results = []
    for run in range(runs):
        empty_desa(engine, desa)
        checkpoint(engine)
        note(f"importing the {label}, run {run + 1} of {runs}")
        results.append(timed_import(engine, desa, data))
    totals = sorted(r["total"] for r in results)
    each = ", ".join(f"{r['total']:.2f}" for r in results)
    out(f"{label} totals of {runs} runs: {each} s "
        f"(median {totals[len(totals) // 2]:.2f} s, best {totals[0]:.2f} s)")
    report_lines(f"{label} (median run)", sorted(results, key=lambda r: r["total"])[len(results) // 2], target)


def export_lines(engine, desa: str) -> None:
    """``GET /penduduk/ekspor`` without HTTP: the register written as CSV and as xlsx."""
    from service.penduduk import impor
    from tenants.session import desa_session

    for fmt in ("csv", "xlsx"):
        with desa_session(engine, desa) as session:
            started = time.perf_counter()
            buffer = io.StringIO() if fmt == "csv" else io.BytesIO()
            count = (impor.write_csv if fmt == "csv" else impor.write_xlsx)(session, buffer)
            size = len(buffer.getvalue())
            out(f"export {fmt}: {count} residents, {size / 1e6:.1f} MB in {time.perf_counter() - started:.2f} s")


def empty_desa(engine, desa: str) -> None:
    """Back to a freshly provisioned register (and no NIK index rows), then VACUUM ANALYZE."""
    from sqlalchemy import text

    from service.regions.codes import parse_desa_kode, schema_name_for

    schema = schema_name_for(parse_desa_kode(desa))
    tables = ("mutasi_penduduk", "akun_warga", "riwayat_no_kk", "penduduk", "keluarga", "wilayah")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(f'{schema}.{t}' for t in tables)} CASCADE"))
        conn.execute(text("DELETE FROM kawasan.nik_index WHERE desa_kode = :d"), {"d": desa})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE kawasan.nik_index"))


def report_lines(label: str, figures: dict, target: float | None) -> None:
    out(f"{label} read+parse: {figures['parse']:.2f} s")
    out(f"{label} validate (main thread): {figures['validate']:.2f} s")
    out(f"{label} parse+validate: {figures['parse'] + figures['validate']:.2f} s")
    out(f"{label} database load (writer thread, overlaps validation): {figures['database']:.2f} s "
        f"({', '.join(f'{k[3:]} {v:.2f}' for k, v in figures['steps'].items())})")
    out(f"{label} waiting for the database after validation: {figures['waiting']:.2f} s; commit "
        f"{figures['commit']:.2f} s")
    verdict = ""
    if target is not None:
        verdict = f" (target <= {target:.0f} s: {'OK' if figures['total'] <= target else 'MISSED'})"
    out(f"{label} total: {figures['total']:.2f} s{verdict}")
    out(f"{label} rows: inserted {figures['inserted']}, updated {figures['updated']}, unchanged "
        f"{figures['unchanged']}, new keluarga {figures['keluarga']}, new wilayah {figures['wilayah']}, "
        f"warnings {figures['warnings']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("-n", type=int, default=DEFAULT_N, help="residents")
    parser.add_argument("--keep-files", type=Path, help="write the generated xlsx/CSV here and keep them (reused "
                        "when they are already there)")
    parser.add_argument("--only", choices=("xlsx", "csv"), help="import only this format")
    parser.add_argument("--runs", type=int, default=3, help="imports per format (the median is judged)")
    parser.add_argument("--no-sequential", action="store_true",
                        help="skip the runs that check every row before writing (separate figures)")
    args = parser.parse_args(argv)

    from service.db import make_engine
    from service.runtime import get_runtime
    from tenants.migrate import upgrade_shared
    from tenants.provisioning import provision

    server = open_server(args.database_url)
    workdir = args.keep_files or Path(tempfile.mkdtemp(prefix="kawasan-bench-impor-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        xlsx_path, csv_path = workdir / f"penduduk-{args.n}.xlsx", workdir / f"penduduk-{args.n}.csv"
        if not (xlsx_path.exists() and csv_path.exists()):
            # Two populations (different NIKs): the second import would otherwise warn on every row that the
            # NIK is registered as alive in the first desa.
            started = time.perf_counter()
            generator = Generator()
            rows = generator.rows(args.n)
            note(f"generated {len(rows)} residents in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            write_xlsx(rows, xlsx_path)
            note(f"wrote {xlsx_path} ({xlsx_path.stat().st_size / 1e6:.1f} MB) in "
                 f"{time.perf_counter() - started:.1f} s")
            write_csv(generator.rows(args.n), csv_path)
            note(f"wrote {csv_path} ({csv_path.stat().st_size / 1e6:.1f} MB)")
            del rows
        # 100,000 residents in every OpenSID column are about 25 MB of CSV: above the upload limit, which is
        # for one desa's file. The bench measures throughput, so it lifts the limit for itself.
        from service.penduduk import impor

        impor.MAX_BYTES = max(impor.MAX_BYTES, xlsx_path.stat().st_size + 1, csv_path.stat().st_size + 1)

        url = server.create_database()
        engine = make_engine(url, pool_size=3)
        # The NIK index is keyed with the deployment's secret: the runtime must point at this database.
        # (No Redis: nothing here queues a job.)
        get_runtime(bench_settings(url, "redis://localhost:1/0"))
        try:
            upgrade_shared(engine, MIGRATIONS)
            provision(engine, [DESA_XLSX, DESA_CSV], tenant_dir=MIGRATIONS / "tenant")
            out("== machine ==")
            for line in machine_lines(engine):
                out(line)
            out(f"== import of {args.n} residents (OpenSID FormatImporExcel columns) ==")
            out(f"xlsx size: {xlsx_path.stat().st_size / 1e6:.1f} MB; csv size: {csv_path.stat().st_size / 1e6:.1f} MB")
            out(f"upload limit lifted for the bench: {impor.MAX_BYTES / 1e6:.1f} MB")
            out(f"load average before the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            if args.only != "csv":
                repeated_import(engine, DESA_XLSX, xlsx_path.read_bytes(), args.runs, "xlsx", TARGET_XLSX_S)
            if args.only != "xlsx":
                repeated_import(engine, DESA_CSV, csv_path.read_bytes(), args.runs, "csv", TARGET_CSV_S)
                checkpoint(engine)
                note("re-importing the CSV (nothing changed)")
                report_lines("csv re-import (all unchanged)", timed_import(engine, DESA_CSV, csv_path.read_bytes()),
                             None)
                note("exporting the register")
                export_lines(engine, DESA_CSV)
            if not args.no_sequential:
                out("== the same into the emptied desa, every row checked before the first is written ==")
                if args.only != "csv":
                    empty_desa(engine, DESA_XLSX)
                    checkpoint(engine)
                    note("importing the xlsx, sequential")
                    report_lines("xlsx sequential", timed_import(engine, DESA_XLSX, xlsx_path.read_bytes(),
                                                                 pipeline=False), None)
                if args.only != "xlsx":
                    empty_desa(engine, DESA_CSV)
                    checkpoint(engine)
                    note("importing the CSV, sequential")
                    report_lines("csv sequential", timed_import(engine, DESA_CSV, csv_path.read_bytes(),
                                                                pipeline=False), None)
            out(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        finally:
            engine.dispose()
    finally:
        server.drop_all()
        if not args.keep_files:
            for path in workdir.iterdir():
                path.unlink()
            workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
