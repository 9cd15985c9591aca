"""Bulk import and export of the register, on the real database: messy OpenSID workbooks, rejections that
write nothing, the API flow through the outbox and a worker, export round trips, permissions and the CLI.

Desa 15.08.14.2004–2009 are this module's (other tests use 2001–2003); they are emptied after each test.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from rq import SimpleWorker
from sqlalchemy import text

from service.penduduk import impor
from service.penduduk.commands import penduduk as penduduk_cli
from service.penduduk.impor import OPENSID_COLUMNS, BerkasTidakValid, read_table, run_import, sniff
from service.penduduk.impor_tasks import TOPIC_IMPOR, run_impor
from service.regions.codes import parse_desa_kode, schema_name_for
from tests.fixtures import bearer, new_nik, new_no_kk, nik_birth_date
from workers.jobs import JobContext
from workers.queues import QUEUES, queue
from workers.relay import Relay

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

DESA_MESSY = "15.08.14.2004"
DESA_REJECT = "15.08.14.2005"
DESA_API = "15.08.14.2006"
DESA_EXPORT = "15.08.14.2007"
DESA_PERM = "15.08.14.2008"
DESA_CLI = "15.08.14.2009"
MINE = (DESA_MESSY, DESA_REJECT, DESA_API, DESA_EXPORT, DESA_PERM, DESA_CLI)
TABLES = ("mutasi_penduduk", "akun_warga", "riwayat_no_kk", "penduduk", "keluarga", "wilayah", "impor_penduduk")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def schema(desa: str) -> str:
    return schema_name_for(parse_desa_kode(desa))


@pytest.fixture(autouse=True)
def empty_my_desa(engine, runtime):
    yield
    with engine.begin() as conn:
        for desa in MINE:
            conn.execute(text(f"TRUNCATE {', '.join(f'{schema(desa)}.{t}' for t in TABLES)} CASCADE"))
        conn.execute(text("DELETE FROM kawasan.nik_index WHERE desa_kode = ANY(:d)"), {"d": list(MINE)})
        conn.execute(text("DELETE FROM kawasan.outbox WHERE desa_kode = ANY(:d)"), {"d": list(MINE)})



@pytest.fixture
def private_redis(runtime):
    """A Redis database of this test's own: test sessions running at the same time share the embedded Redis,
    and their relays flush it and their workers take jobs from it."""
    import redis

    connection = redis.Redis.from_url(f"{runtime.redis_url.split('?')[0]}?db={random.randint(4, 15)}")
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def work(private_redis):
    def run() -> None:
        SimpleWorker([queue(q, private_redis) for q in QUEUES], connection=private_redis).work(burst=True)

    return run


@pytest.fixture
def relay(runtime, private_redis, work):
    """A relay over an empty backlog (events left by other tests are processed first)."""
    relay = Relay(runtime.engine, private_redis, redeliver_after=1.0, poll_interval=0.2)
    relay.run_once()
    work()
    return relay


# --- files ----------------------------------------------------------------------------------------------


def families(count: int, *, size: int = 3, dusun: str = "Dusun Baru") -> list[dict]:
    """Residents as OpenSID columns: ``count`` families (head, wife, children), clean values."""
    rows = []
    for f in range(count):
        no_kk = new_no_kk()
        for i in range(size):
            female = i == 1 or (i > 1 and random.random() < 0.5)
            nik = new_nik(female=female)
            rows.append({
                "alamat": f"Jl. Uji No. {f + 1}", "dusun": dusun, "rw": "001", "rt": "002", "nama": f"Warga {nik[-6:]}",
                "no_kk": no_kk, "nik": nik, "sex": 2 if female else 1, "tempatlahir": "Muara Bungo",
                "tanggallahir": date.fromisoformat(nik_birth_date(nik)), "agama_id": 1, "pendidikan_kk_id": 5,
                "pendidikan_sedang_id": 18, "pekerjaan_id": 9, "status_kawin": 2 if i < 2 else 1,
                "kk_level": 1 if i == 0 else 3 if i == 1 else 4, "warganegara_id": 1, "golongan_darah_id": 13,
                "hamil": 2 if female else None, "status_dasar": 1, "suku": "Melayu",
            })
    return rows


def messy_cell(column: str, value, i: int):
    """What real OpenSID workbooks contain: date cells and text dates, '-', floats, labels, spaces."""
    if value is None:
        return "-" if i % 2 else None
    if column == "tanggallahir":
        return [value, value.strftime("%d-%m-%Y"), value.isoformat(), value.strftime("%d/%m/%Y")][i % 4]
    if column in ("nik", "no_kk"):
        return [float(value), f" {value} ", value][i % 3]
    if column == "sex":
        return [float(value), {1: "LAKI-LAKI", 2: "Perempuan"}[value]][i % 2]
    if column == "agama_id":
        return [float(value), "ISLAM", " 1 "][i % 3]
    if column == "rw":
        return [1.0, "001", "1"][i % 3]  # one RW, however it is typed
    if isinstance(value, int):
        return [float(value), str(value)][i % 2]
    if column == "nama":
        return f"  {value}  "
    return value


def xlsx_bytes(rows: list[dict], *, columns=OPENSID_COLUMNS, messy: bool = True, blank_after: int | None = None,
               title_rows: int = 0) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Data Penduduk"
    for _ in range(title_rows):
        sheet.append(["Data penduduk desa"])
    sheet.append(list(columns))
    for i, row in enumerate(rows):
        sheet.append([messy_cell(c, row.get(c), i) if messy else row.get(c) for c in columns])
        if blank_after is not None and i == blank_after:
            sheet.append([])
            sheet.append(["-"] * 3)  # a "blank" row as typed by hand
    workbook.create_sheet("Petunjuk").append(["Isi sheet pertama"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict], *, delimiter: str = ";", bom: bool = True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(OPENSID_COLUMNS)
    for row in rows:
        writer.writerow(["-" if (v := row.get(c)) is None else v.strftime("%d-%m-%Y") if isinstance(v, date) else v
                         for c in OPENSID_COLUMNS])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def counts(engine, desa: str) -> dict[str, int]:
    s = schema(desa)
    with engine.connect() as conn:
        found = {t: conn.scalar(text(f"SELECT count(*) FROM {s}.{t}")) for t in TABLES}
        found["nik_index"] = conn.scalar(text("SELECT count(*) FROM kawasan.nik_index WHERE desa_kode = :d"),
                                         {"d": desa})
        found["outbox"] = conn.scalar(text("SELECT count(*) FROM kawasan.outbox WHERE desa_kode = :d"), {"d": desa})
    return found


def assert_no_personal_data(report: dict, rows: list[dict]) -> None:
    dumped = json.dumps(report)
    for row in rows:
        assert row["nik"] not in dumped and row["no_kk"] not in dumped and row["nama"] not in dumped


# --- import ---------------------------------------------------------------------------------------------


def test_messy_opensid_workbook_imports_fully_and_a_reimport_reports_exactly_what_changed(engine):
    rows = families(4) + families(1, size=5)
    data = xlsx_bytes(rows, blank_after=5)
    report = run_import(engine, DESA_MESSY, data, actor="test")
    assert not report.rejected, report.errors
    assert (report.rows_total, report.inserted, report.updated, report.unchanged) == (17, 17, 0, 0)
    assert (report.keluarga_baru, report.wilayah_baru) == (5, 3)  # Dusun Baru → RW 001 → RT 002
    assert report.format == "xlsx" and report.layout == "opensid" and report.errors_total == 0
    assert set(report.ignored_columns) == set()
    assert_no_personal_data(report.to_dict(), rows)

    s = schema(DESA_MESSY)
    with engine.connect() as conn:
        stored = {r.nik: r for r in conn.execute(text(
            f"SELECT p.*, k.no_kk, k.alamat, k.kepala_id, w.nama AS rt, w.tingkat FROM {s}.penduduk p "
            f"JOIN {s}.keluarga k ON k.id = p.keluarga_id JOIN {s}.wilayah w ON w.id = p.wilayah_id"))}
        assert set(stored) == {r["nik"] for r in rows}
        for row in rows:
            got = stored[row["nik"]]
            assert (got.nama, got.sex, got.tanggal_lahir, got.agama_id, got.pekerjaan_id, got.kk_level) == (
                row["nama"], row["sex"], row["tanggallahir"], 1, 9, row["kk_level"])
            assert (got.no_kk, got.alamat, got.rt, got.tingkat) == (row["no_kk"], row["alamat"], "002", "rt")
            assert got.golongan_darah_id == 13 and got.hamil == row["hamil"] and got.status_dasar == 1
            if row["kk_level"] == 1:
                assert got.kepala_id == got.id
        tree = conn.execute(text(f"SELECT tingkat, nama FROM {s}.wilayah ORDER BY id")).all()
        assert [tuple(t) for t in tree] == [("dusun", "Dusun Baru"), ("rw", "1"), ("rt", "002")]
        assert conn.scalar(text(f"SELECT count(*) FROM {s}.mutasi_penduduk")) == 0  # registration: no event
        assert conn.scalar(text("SELECT count(*) FROM kawasan.nik_index WHERE desa_kode = :d AND hidup"),
                           {"d": DESA_MESSY}) == 17
        from service.penduduk.services import nik_hmac

        assert conn.scalar(text("SELECT hidup FROM kawasan.nik_index WHERE desa_kode = :d AND nik_hmac = :h"),
                           {"d": DESA_MESSY, "h": nik_hmac(rows[0]["nik"])}) is True  # the same key as the API's
        assert conn.scalar(text("SELECT count(*) FROM kawasan.outbox WHERE desa_kode = :d AND topic = "
                                "'penduduk.berubah' AND status = 'pending'"), {"d": DESA_MESSY}) == 1

    # The same workbook again, one resident with two fields changed: exactly that is reported.
    changed = [dict(r) for r in rows]
    changed[3]["tempatlahir"] = "Jambi"
    changed[3]["pekerjaan_id"] = 88
    again = run_import(engine, DESA_MESSY, xlsx_bytes(changed, blank_after=5), actor="test")
    assert (again.inserted, again.updated, again.unchanged, again.keluarga_baru, again.wilayah_baru) == (0, 1, 16, 0, 0)
    assert [(c.row, c.columns) for c in again.changes] == [(5, ["tempatlahir", "pekerjaan_id"])]
    assert_no_personal_data(again.to_dict(), rows)
    with engine.connect() as conn:
        person = conn.execute(text(f"SELECT id, tempat_lahir, pekerjaan_id, versi FROM {s}.penduduk WHERE nik = :n"),
                              {"n": rows[3]["nik"]}).one()
        assert (person.tempat_lahir, person.pekerjaan_id, person.versi) == ("Jambi", 88, 2)
        log = conn.execute(text(f"SELECT penduduk_id, kode_peristiwa, no_kk, data FROM {s}.mutasi_penduduk")).all()
        assert [(e.penduduk_id, e.kode_peristiwa, e.no_kk) for e in log] == [(person.id, 7, rows[3]["no_kk"])]
        assert log[0].data == {"sebelum": {"tempat_lahir": "Muara Bungo", "pekerjaan_id": 9},
                               "sesudah": {"tempat_lahir": "Jambi", "pekerjaan_id": 88}}


def test_a_file_with_some_columns_changes_only_those_and_moves_between_families(engine):
    rows = families(2)
    rows[2]["status_dasar"] = 2  # a child of the first family, dead
    assert run_import(engine, DESA_MESSY, csv_bytes(rows), actor="test").inserted == 6
    few = ("nik", "nama", "no_kk", "sex", "tanggallahir", "kk_level", "pekerjaan_id", "status_dasar")
    second = [dict(r) for r in rows]
    second[0]["pekerjaan_id"] = 88  # the first head changes job
    second[2]["status_dasar"] = None  # "-": the status stays as registered
    second[2]["pekerjaan_id"] = 3
    second[1]["no_kk"] = rows[3]["no_kk"]  # the first wife moves into the second family
    second[1]["kk_level"] = 9
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(few)
    for row in second:
        writer.writerow(["-" if row[c] is None else row[c].isoformat() if isinstance(row[c], date) else row[c]
                         for c in few])
    report = run_import(engine, DESA_MESSY, buffer.getvalue().encode(), actor="test")
    assert (report.inserted, report.updated, report.unchanged) == (0, 3, 3)
    assert [(c.row, c.columns) for c in report.changes] == [
        (2, ["pekerjaan_id"]), (3, ["kk_level", "no_kk"]), (4, ["pekerjaan_id"])]
    s = schema(DESA_MESSY)
    with engine.connect() as conn:
        people = {r.nik: r for r in conn.execute(text(
            f"SELECT p.nik, p.status_dasar, p.suku, p.pekerjaan_id, p.kk_level, k.no_kk FROM {s}.penduduk p "
            f"JOIN {s}.keluarga k ON k.id = p.keluarga_id"))}
        assert people[rows[2]["nik"]].status_dasar == 2 and people[rows[2]["nik"]].pekerjaan_id == 3
        assert all(p.suku == "Melayu" for p in people.values())  # not in the file: untouched
        assert (people[rows[1]["nik"]].no_kk, people[rows[1]["nik"]].kk_level) == (rows[3]["no_kk"], 9)
        heads = dict(conn.execute(text(f"SELECT k.no_kk, p.nik FROM {s}.keluarga k JOIN {s}.penduduk p "
                                       f"ON p.id = k.kepala_id")).all())
        assert heads == {rows[0]["no_kk"]: rows[0]["nik"], rows[3]["no_kk"]: rows[3]["nik"]}
        moved = conn.execute(text(f"SELECT data FROM {s}.mutasi_penduduk m JOIN {s}.penduduk p "
                                  f"ON p.id = m.penduduk_id WHERE p.nik = :n"), {"n": rows[1]["nik"]}).scalar_one()
        assert moved == {"sebelum": {"kk_level": 3, "no_kk": rows[0]["no_kk"]},
                         "sesudah": {"kk_level": 9, "no_kk": rows[3]["no_kk"]}}


@pytest.mark.parametrize("bulk", [False, True])
def test_a_new_family_gets_its_head_whether_the_head_is_new_or_already_registered(engine, monkeypatch, bulk):
    """New families are written with their head's id before the head's row: a new resident's drawn id, or a
    registered resident's own (a grown child splitting off as head of a new KK)."""
    if bulk:
        monkeypatch.setattr(impor, "BULK_MIN_ROWS", 3)
    rows = families(1)
    assert run_import(engine, DESA_MESSY, csv_bytes(rows), actor="test").keluarga_baru == 1
    child = dict(rows[2], no_kk=new_no_kk(), kk_level=1)  # registered: now the head of a new KK
    newcomers = families(1)  # a new family: new head, new members
    report = run_import(engine, DESA_MESSY, csv_bytes([rows[0], rows[1], child, *newcomers]), actor="test")
    assert not report.rejected, report.errors
    assert (report.inserted, report.updated, report.keluarga_baru) == (3, 1, 2)
    s = schema(DESA_MESSY)
    with engine.connect() as conn:
        heads = dict(conn.execute(text(f"SELECT k.no_kk, p.nik FROM {s}.keluarga k JOIN {s}.penduduk p "
                                       f"ON p.id = k.kepala_id")).all())
        assert heads == {rows[0]["no_kk"]: rows[0]["nik"], child["no_kk"]: child["nik"],
                         newcomers[0]["no_kk"]: newcomers[0]["nik"]}
        assert conn.scalar(text(f"SELECT count(*) FROM {s}.keluarga WHERE NOT aktif")) == 0
        history = conn.execute(text(f"SELECT k.no_kk, r.sebab FROM {s}.riwayat_no_kk r JOIN {s}.keluarga k "
                                    f"ON k.id = r.keluarga_id ORDER BY r.id")).all()
        assert [tuple(h) for h in history] == [(rows[0]["no_kk"], "impor"), (child["no_kk"], "impor"),
                                               (newcomers[0]["no_kk"], "impor")]


def test_wilayah_are_matched_case_insensitively_and_an_rt_without_rw_hangs_under_its_dusun(engine):
    rows = families(3)
    for row in rows[:3]:
        row.update(dusun="Dusun Ilir", rw=None, rt="003")
    for row in rows[3:6]:
        row.update(dusun="  dusun  ILIR ", rw="002", rt="1")
    for row in rows[6:]:
        row.update(dusun="Dusun Ulu", rw=None, rt=None)
    report = run_import(engine, DESA_MESSY, csv_bytes(rows), actor="test")
    assert (report.rejected, report.wilayah_baru) == (False, 5)
    s = schema(DESA_MESSY)
    with engine.connect() as conn:
        paths = dict(conn.execute(text(
            f"""SELECT p.nik, concat_ws(' / ', d.nama, w.nama, t.nama)
                FROM {s}.penduduk p JOIN {s}.wilayah t ON t.id = p.wilayah_id
                LEFT JOIN {s}.wilayah w ON w.id = t.induk_id LEFT JOIN {s}.wilayah d ON d.id = w.induk_id""")).all())
    assert {paths[r["nik"]] for r in rows[:3]} == {"Dusun Ilir / 003"}
    assert {paths[r["nik"]] for r in rows[3:6]} == {"Dusun Ilir / 002 / 1"}
    assert {paths[r["nik"]] for r in rows[6:]} == {"Dusun Ulu"}
    again = run_import(engine, DESA_MESSY, csv_bytes(rows), actor="test")
    assert (again.wilayah_baru, again.unchanged) == (0, 9)


def test_header_below_a_title_row_unknown_columns_and_sheet_row_numbers(engine):
    rows = families(1)
    rows[1]["nik"] = "12345"
    data = xlsx_bytes(rows, columns=("Nomor", *OPENSID_COLUMNS, "Catatan Operator"), messy=False, title_rows=2)
    report = run_import(engine, DESA_REJECT, data, actor="test")
    assert report.rejected
    assert [(e.row, e.column) for e in report.errors] == [(5, "nik")]  # title, title, header, row 4, row 5
    assert report.ignored_columns == ["Catatan Operator"]


def test_one_bad_row_rejects_the_file_naming_row_and_columns_and_writes_nothing(engine):
    run_import(engine, DESA_REJECT, xlsx_bytes(families(1)), actor="test")  # something already there
    before = counts(engine, DESA_REJECT)
    rows = families(3)
    rows[4].update(nik="15081417088", tanggallahir="31-02-1990", agama_id=99)
    for data in (xlsx_bytes(rows, messy=False), csv_bytes(rows)):
        report = run_import(engine, DESA_REJECT, data, actor="test")
        assert report.rejected and report.inserted == report.updated == report.keluarga_baru == 0
        assert sorted((e.row, e.column) for e in report.errors) == [(6, "agama_id"), (6, "nik"), (6, "tanggallahir")]
        assert "16" in next(e.message for e in report.errors if e.column == "nik")
        assert counts(engine, DESA_REJECT) == before
    lines = "\n".join(report.lines())
    assert "baris 6, kolom agama_id" in lines and "nothing was written" in lines


@pytest.mark.parametrize("pipeline", [True, False])
def test_rows_written_in_ranges_and_an_error_in_a_late_range_leaves_nothing(engine, monkeypatch, pipeline):
    monkeypatch.setattr(impor, "CHUNK_ROWS", 2)  # the writer gets rows 2 by 2 while later ones are checked
    monkeypatch.setattr(impor, "PIPELINE", pipeline)
    rows = families(3)
    assert run_import(engine, DESA_REJECT, csv_bytes(rows[:6]), actor="test").inserted == 6
    changed = [dict(r) for r in rows]
    changed[1]["suku"] = "Jawa"
    report = run_import(engine, DESA_REJECT, csv_bytes(changed), actor="test")
    assert (report.inserted, report.updated, report.unchanged, report.keluarga_baru) == (3, 1, 5, 1)
    assert [(c.row, c.columns) for c in report.changes] == [(3, ["suku"])]
    before = counts(engine, DESA_REJECT)
    late = families(3)
    late[-1]["tanggallahir"] = "2999-01-01"
    report = run_import(engine, DESA_REJECT, csv_bytes(changed + late), actor="test")
    assert report.rejected and [(e.row, e.column) for e in report.errors] == [(19, "tanggallahir")]
    assert (report.inserted, report.keluarga_baru, report.changes) == (0, 0, [])
    assert counts(engine, DESA_REJECT) == before


def penduduk_indexes_and_keys(engine, desa: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(text(
            """SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = 'penduduk'
               UNION ALL SELECT conname || CASE WHEN condeferrable THEN ' (deferrable)' ELSE '' END
               FROM pg_constraint WHERE connamespace = CAST(:s AS regnamespace) AND contype = 'f'
                    AND conrelid IN (CAST(:p AS regclass), CAST(:k AS regclass), CAST(:r AS regclass))"""),
            {"s": schema(desa), "p": f"{schema(desa)}.penduduk", "k": f"{schema(desa)}.keluarga",
             "r": f"{schema(desa)}.riwayat_no_kk"}))


def test_a_large_import_into_an_empty_register_rebuilds_indexes_and_keys_and_a_rejected_one_keeps_them(
        engine, monkeypatch):
    """A bulk load sets penduduk's secondary indexes and foreign keys aside and builds them again before commit;
    an error after they were set aside rolls everything back, indexes included."""
    monkeypatch.setattr(impor, "BULK_MIN_ROWS", 6)
    monkeypatch.setattr(impor, "CHUNK_ROWS", 3)
    complete = penduduk_indexes_and_keys(engine, DESA_REJECT)
    assert {"ix_penduduk_nama_tsv", "penduduk_keluarga_id_fkey", "keluarga_wilayah_id_fkey",
            "fk_keluarga_kepala_id_penduduk (deferrable)", "riwayat_no_kk_keluarga_id_fkey"} <= complete
    late = families(4)
    late[-1]["tanggallahir"] = "2999-01-01"
    assert run_import(engine, DESA_REJECT, csv_bytes(late), actor="test").rejected
    assert penduduk_indexes_and_keys(engine, DESA_REJECT) == complete
    assert counts(engine, DESA_REJECT)["penduduk"] == 0

    rows = families(4)
    report = run_import(engine, DESA_REJECT, csv_bytes(rows), actor="test")
    assert (report.rejected, report.inserted, report.keluarga_baru) == (False, 12, 4)
    assert "db_indeks" in report.seconds  # the indexes were set aside and built again
    assert penduduk_indexes_and_keys(engine, DESA_REJECT) == complete
    with engine.connect() as conn:
        s = schema(DESA_REJECT)
        # Families got their heads, and the rebuilt keys hold: a resident in a family that does not exist fails.
        heads = dict(conn.execute(text(f"SELECT k.no_kk, p.nik FROM {s}.keluarga k JOIN {s}.penduduk p "
                                       f"ON p.id = k.kepala_id")).all())
        assert heads == {r["no_kk"]: r["nik"] for r in rows if r["kk_level"] == 1} and len(heads) == 4
        assert conn.scalar(text(f"SELECT count(*) FROM {s}.riwayat_no_kk")) == 4
        for statement, key in ((f"UPDATE {s}.penduduk SET keluarga_id = -1", "penduduk_keluarga_id_fkey"),
                               (f"UPDATE {s}.keluarga SET kepala_id = -1", "fk_keluarga_kepala_id_penduduk"),
                               (f"UPDATE {s}.riwayat_no_kk SET keluarga_id = -1", "riwayat_no_kk_keluarga_id_fkey")):
            with pytest.raises(Exception, match=key), conn.begin_nested():
                conn.execute(text(statement))


def test_only_the_desa_itself_may_set_its_indexes_aside(engine):
    """The SECURITY DEFINER functions are not executable by PUBLIC, and another desa's role cannot reach them."""
    from tenants.session import DesaSession

    with engine.connect() as conn:
        grants = conn.execute(text(
            """SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS publik
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = :s AND p.proname LIKE 'impor_%'"""), {"s": schema(DESA_REJECT)}).all()
    assert sorted(grants) == [("impor_pulihkan_indeks", False), ("impor_sisihkan_indeks", False)]
    with DesaSession(engine, DESA_MESSY) as other, pytest.raises(Exception, match="permission denied"):
        other.execute(text(f"SELECT {schema(DESA_REJECT)}.impor_sisihkan_indeks()"))
    assert {"ix_penduduk_nama_tsv", "penduduk_wilayah_id_fkey"} <= penduduk_indexes_and_keys(engine, DESA_REJECT)


def test_duplicate_nik_in_the_file_and_two_heads_of_one_family_are_rejected(engine):
    before = counts(engine, DESA_REJECT)
    rows = families(2)
    rows[5]["nik"] = rows[0]["nik"]  # typed once as a number, once as text
    rows[5]["sex"], rows[5]["tanggallahir"] = rows[0]["sex"], rows[0]["tanggallahir"]
    rows[4]["kk_level"] = 1  # a second living head in the second family
    report = run_import(engine, DESA_REJECT, xlsx_bytes(rows), actor="test")
    assert report.rejected
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert set(messages) == {(7, "nik"), (6, "kk_level")}
    assert "baris 2" in messages[(7, "nik")] and "baris 5" in messages[(6, "kk_level")]
    assert counts(engine, DESA_REJECT) == before


def test_csv_template_and_opendk_layout_import_with_alive_elsewhere_warnings(engine):
    from pathlib import Path

    template = (Path(impor.__file__).parent / "templates_impor" / "penduduk.csv").read_bytes()
    report = run_import(engine, DESA_PERM, template, actor="test")
    assert (report.format, report.inserted, report.rejected) == ("csv", 2, False)
    # The same two people in another desa, from OpenDK's heading-row layout: warned, still imported.
    table = read_table(template)
    opendk = ["nomor_nik", "nama", "nomor_kk", "jenis_kelamin", "tempat_lahir", "tanggal_lahir", "agama",
              "pendidikan_dlm_kk", "pekerjaan", "kawin", "hubungan_keluarga", "kewarganegaraan", "dusun", "rw", "rt",
              "alamat", "status_dasar", "desa_id", "id", "foto", "created_at"]
    source = {"nomor_nik": "nik", "nomor_kk": "no_kk", "jenis_kelamin": "sex", "tempat_lahir": "tempat_lahir",
              "tanggal_lahir": "tanggal_lahir", "agama": "agama_id", "pendidikan_dlm_kk": "pendidikan_kk_id",
              "pekerjaan": "pekerjaan_id", "kawin": "status_kawin", "hubungan_keluarga": "kk_level",
              "kewarganegaraan": "warganegara_id", "dusun": "dusun", "rw": "rw", "rt": "rt", "alamat": "alamat",
              "status_dasar": "status_dasar", "nama": "nama"}
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([c.replace("_", " ").title() for c in opendk])  # Excel heading row, as people retype it
    for i in range(len(table)):
        sheet.append([table.cells[source[c]][i] if c in source else "x" for c in opendk])
    buffer = io.BytesIO()
    workbook.save(buffer)
    other = run_import(engine, DESA_CLI, buffer.getvalue(), actor="test")
    assert other.layout == "opendk" and other.inserted == 2 and not other.rejected
    assert [(w.row, w.column) for w in other.warnings] == [(2, "Nomor Nik"), (3, "Nomor Nik")]
    assert DESA_PERM in other.warnings[0].message


def test_unreadable_files_are_refused_before_any_work(runtime):
    with pytest.raises(BerkasTidakValid, match="kosong"):
        sniff(b"")
    with pytest.raises(BerkasTidakValid) as too_big:
        sniff(b"a" * (impor.MAX_BYTES + 1))
    assert too_big.value.status == 413
    for data in (PNG, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), b"PK\x03\x04garbage", _zip_without_workbook()):
        with pytest.raises(BerkasTidakValid):
            read_table(data)
    utf16 = "\ufeff" + csv_bytes(families(1), delimiter="\t", bom=False).decode()
    assert len(read_table(utf16.encode("utf-16-le"))) == 3  # Excel's "Unicode text"
    assert len(read_table(csv_bytes(families(1), delimiter=",")[3:].decode().encode("cp1252"))) == 3
    with pytest.raises(BerkasTidakValid, match="kolom wajib"):
        read_table(b"nik;nama\n1508141708850001;Budi\n")
    with pytest.raises(BerkasTidakValid, match="judul kolom"):
        read_table(b"a,b,c\n1,2,3\n")


def _zip_without_workbook() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


# --- API ------------------------------------------------------------------------------------------------


def _url(desa: str, path: str) -> str:
    return f"/api/v1/desa/{desa}{path}"


def _upload(client, desa, headers, data: bytes, name: str = "penduduk.xlsx"):
    return client.post(_url(desa, "/penduduk/impor"), headers=headers,
                       data={"berkas": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_runs_in_a_worker_with_progress_to_selesai_and_redelivery_does_nothing(client, token_for, engine,
                                                                                     relay, work):
    headers = bearer(token_for(("operator_desa", DESA_API)))
    rows = families(6)
    accepted = _upload(client, DESA_API, headers, xlsx_bytes(rows), name="data penduduk.xlsm")
    assert accepted.status_code == 202, accepted.get_json()
    body = accepted.get_json()
    assert body["status"] == "menunggu" and body["format"] == "xlsx"
    assert accepted.headers["Location"] == body["status_url"] == _url(DESA_API, f"/penduduk/impor/{body['id']}")
    for row in rows:
        assert row["nik"] not in body["status_url"]
    waiting = client.get(body["status_url"], headers=headers).get_json()
    assert (waiting["status"], waiting["persen"], waiting["laporan"]) == ("menunggu", 0, None)

    assert relay.run_once() >= 1
    work()
    done = client.get(body["status_url"], headers=headers).get_json()
    assert (done["status"], done["persen"]) == ("selesai", 100), done
    assert done["laporan"]["inserted"] == 18 and done["laporan"]["rejected"] is False
    assert done["nama_berkas"] == "data penduduk.xlsm" and done["selesai_pada"]
    assert_no_personal_data(done["laporan"], rows)
    s = schema(DESA_API)
    with engine.connect() as conn:
        assert conn.scalar(text(f"SELECT count(*) FROM {s}.penduduk")) == 18
        assert conn.scalar(text(f"SELECT isi IS NULL FROM {s}.impor_penduduk"))  # the file is not kept
        event = conn.execute(text("SELECT status, result FROM kawasan.outbox WHERE topic = :t AND desa_kode = :d"),
                             {"t": TOPIC_IMPOR, "d": DESA_API}).one()
        assert event.status == "done" and event.result["status"] == "selesai"
        impor_id = conn.scalar(text(f"SELECT id FROM {s}.impor_penduduk"))
    # A re-delivered event (or a second worker) finds the import finished and changes nothing.
    with engine.begin() as conn:
        again = run_impor(JobContext(conn, engine, 0), DESA_API, {"impor_id": impor_id})
    assert again == {"impor_id": impor_id, "status": "selesai", "ulang": True}
    assert counts(engine, DESA_API)["penduduk"] == 18

    # A file with a bad row ends "ditolak" with the report; nothing of it is written.
    rows[2]["tanggallahir"] = "kemarin"
    rejected = _upload(client, DESA_API, headers, csv_bytes(rows), name="x.csv").get_json()
    relay.run_once()
    work()
    status = client.get(rejected["status_url"], headers=headers).get_json()
    assert status["status"] == "ditolak" and status["persen"] == 100
    assert [(e["row"], e["column"]) for e in status["laporan"]["errors"]] == [(4, "tanggallahir")]
    assert counts(engine, DESA_API)["penduduk"] == 18


@pytest.mark.parametrize(("data", "status"), [
    (b"", 422), (PNG, 415), (b"PK\x03\x04not really a zip", 422), (b"x" * (impor.MAX_BYTES + 1), 413),
])
def test_bad_uploads_are_4xx_naming_berkas_and_store_nothing(client, token_for, engine, data, status):
    headers = bearer(token_for(("operator_desa", DESA_API)))
    before = counts(engine, DESA_API)
    response = _upload(client, DESA_API, headers, data, name="penduduk.csv")
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["berkas"]
    assert counts(engine, DESA_API) == before


def test_upload_without_the_file_field_is_422_naming_berkas(client, token_for):
    headers = bearer(token_for(("operator_desa", DESA_API)))
    response = client.post(_url(DESA_API, "/penduduk/impor"), headers=headers, data={"lain": "x"},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "berkas" in [e["field"] for e in response.get_json()["errors"]]


def test_unknown_import_id_is_404(client, token_for):
    headers = bearer(token_for(("sekdes", DESA_API)))
    response = client.get(_url(DESA_API, "/penduduk/impor/00000000-0000-0000-0000-000000000000"), headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimports_with_zero_changes_and_is_audited(client, token_for, engine, fmt):
    rows = families(3) + families(1, size=4, dusun="Dusun Ilir")
    rows[2]["status_dasar"] = 2  # the dead stay in the register, and in the export
    rows[4]["suku"] = "=HYPERLINK(\"http://contoh.invalid\")"  # text, never a formula in a spreadsheet
    assert not run_import(engine, DESA_EXPORT, csv_bytes(rows), actor="test").rejected
    headers = bearer(token_for(("kepala_desa", DESA_EXPORT)))
    response = client.get(_url(DESA_EXPORT, f"/penduduk/ekspor?format={fmt}"), headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    again = run_import(engine, DESA_EXPORT, response.data, actor="test")
    assert not again.rejected, again.errors
    assert (again.rows_total, again.inserted, again.updated, again.unchanged) == (13, 0, 0, 13), again.changes
    if fmt == "csv":
        exported = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        assert exported[0][:7] == ["alamat", "dusun", "rw", "rt", "nama", "no_kk", "nik"]
        assert {r[6] for r in exported[1:]} == {r["nik"] for r in rows}
        assert "'=HYPERLINK" in response.data.decode("utf-8-sig")
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(response.data)).active
        cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
        assert [c.data_type for c in cells] == ["s"]
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT aksi, objek, detail FROM kawasan.audit_log WHERE desa_kode = :d "
                                  "AND aksi = 'ekspor_data_pribadi' ORDER BY id DESC LIMIT 1"),
                             {"d": DESA_EXPORT}).one()
    assert audit.detail == {"format": fmt, "baris": 13}
    assert_no_personal_data({"objek": audit.objek, "detail": audit.detail}, rows)


def test_permissions_warga_and_other_desa_staff_are_refused(client, token_for, make_family):
    [(nik, pin, _)] = make_family(DESA_PERM, size=1)
    warga = client.post("/api/v1/auth/login", json={"desa": DESA_PERM, "nik": nik, "pin": pin}).get_json()
    other_operator = token_for(("operator_desa", "15.08.14.2001"))
    data = xlsx_bytes(families(1))
    for token in (warga["access_token"], other_operator):
        headers = bearer(token)
        assert _upload(client, DESA_PERM, headers, data).status_code == 403
        assert client.get(_url(DESA_PERM, "/penduduk/ekspor?format=csv"), headers=headers).status_code == 403
        assert client.get(_url(DESA_PERM, "/penduduk/impor/00000000-0000-0000-0000-000000000000"),
                          headers=headers).status_code == 403
    assert _upload(client, DESA_PERM, {}, data).status_code == 401


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_import_exit_codes_and_export(tmp_path, engine):
    runner = CliRunner()
    rows = families(2)
    bad = [dict(r) for r in rows]
    bad[1]["nik"] = "123"
    (tmp_path / "bad.xlsx").write_bytes(xlsx_bytes(bad))
    rejected = runner.invoke(penduduk_cli, ["import", "--desa", DESA_CLI, str(tmp_path / "bad.xlsx")])
    assert rejected.exit_code == 1, rejected.output
    assert "baris 3, kolom nik" in rejected.output
    assert counts(engine, DESA_CLI)["penduduk"] == 0

    (tmp_path / "gambar.csv").write_bytes(PNG)
    assert runner.invoke(penduduk_cli, ["import", "--desa", DESA_CLI, str(tmp_path / "gambar.csv")]).exit_code == 2
    (tmp_path / "ok.csv").write_bytes(csv_bytes(rows, delimiter=",", bom=False))
    assert runner.invoke(penduduk_cli, ["import", "--desa", "15.08.14.9999", str(tmp_path / "ok.csv")]).exit_code == 2
    assert runner.invoke(penduduk_cli, ["import", "--desa", DESA_CLI, str(tmp_path / "missing.csv")]).exit_code == 2

    imported = runner.invoke(penduduk_cli, ["import", "--desa", DESA_CLI, str(tmp_path / "ok.csv")])
    assert imported.exit_code == 0, imported.output
    assert "baru / inserted: 6" in imported.output
    for row in rows:
        assert row["nik"] not in imported.output

    exported = runner.invoke(penduduk_cli, ["export", "--desa", DESA_CLI, "--format", "xlsx",
                                            "--output", str(tmp_path / "out.xlsx")])
    assert exported.exit_code == 0, exported.output
    again = runner.invoke(penduduk_cli, ["import", "--desa", DESA_CLI, str(tmp_path / "out.xlsx")])
    assert again.exit_code == 0 and "tetap / unchanged: 6" in again.output
