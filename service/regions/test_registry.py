from sqlalchemy import func, select

from service.regions.codes import Tingkat, parse_kode
from service.regions.models import WilayahAdministrasi
from service.regions.services import get_region, sync_region_registry, villages_under


def _count(conn, tingkat, prefix):
    return conn.scalar(
        select(func.count()).where(WilayahAdministrasi.tingkat == tingkat, WilayahAdministrasi.kode.like(prefix))
    )


def test_registry_holds_the_official_codes(db_conn):
    assert get_region(db_conn, "15.08").nama == "Kabupaten Bungo"
    assert get_region(db_conn, "1508").jenis == "kabupaten"
    assert get_region(db_conn, "15.08.14").nama == "Bathin III Ulu"
    assert _count(db_conn, Tingkat.KECAMATAN, "15.08.%") == 17
    assert _count(db_conn, Tingkat.DESA, "15.08.%") == 153
    assert _count(db_conn, Tingkat.PROVINSI, "%") == 38


def test_village_kind_follows_the_code(db_conn):
    # Kelurahan codes start with 1, desa with 2 (Pasar Muaro Bungo has kelurahan).
    assert get_region(db_conn, "15.08.14.2001").jenis == "desa"
    assert _count(db_conn, Tingkat.DESA, "15.08.%") == 153
    assert db_conn.scalar(
        select(func.count()).where(WilayahAdministrasi.kode.like("15.08.%"), WilayahAdministrasi.jenis == "kelurahan")
    ) == 12


def test_villages_under_each_level(db_conn):
    assert len(villages_under(db_conn, parse_kode("15.08.14"))) == 9
    assert len(villages_under(db_conn, parse_kode("15.08"))) == 153
    assert len(villages_under(db_conn, parse_kode("15"))) == 1585
    assert villages_under(db_conn, parse_kode("1508142001")) == [("15.08.14.2001", "Muara Buat")]


def test_loading_again_is_a_no_op_unless_forced(db_conn):
    assert sync_region_registry(db_conn) == 0
    assert sync_region_registry(db_conn, force=True) > 90_000
