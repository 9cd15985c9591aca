from datetime import date

import pytest

from service.penduduk.nik import check_nik, check_no_kk, normalize


def test_a_valid_nik_of_a_woman_from_bathin_iii_ulu():
    result = check_nik("1508145708880002", sex=2, tanggal_lahir=date(1988, 8, 17))
    assert result.ok and result.warnings == [] and result.sex == 2 and result.day == 17


@pytest.mark.parametrize(
    ("raw", "problem"),
    [("150814030485001", "16 digit"), ("15081403048500a1", "16 digit"), ("1508143204850001", "tanggal"),
     ("1508140313850001", "tanggal"), ("1508147204850001", "tanggal"), ("1508142902010001", "tanggal"),
     ("1508140304850000", "0000")],
)
def test_invalid_niks_are_errors(raw, problem):
    result = check_nik(raw)
    assert not result.ok and any(problem in e for e in result.errors)


def test_29_february_resolves_to_a_leap_year():
    assert check_nik("1508142902000001").ok  # 2000-02-29


def test_old_region_prefix_and_mismatches_are_warnings_only():
    old_prefix = check_nik("9999990304850001")
    assert old_prefix.ok and "kode wilayah" in old_prefix.warnings[0]
    mismatch = check_nik("1508140304850001", sex=2, tanggal_lahir=date(1985, 4, 4))
    assert mismatch.ok and len(mismatch.warnings) == 2


def test_input_hygiene():
    assert normalize(" 1508.1403-0485 0001 ") == "1508140304850001"
    assert normalize(1508140304850001.0) == "1508140304850001"


def test_kk_numbers_have_no_plus_40_rule():
    assert check_no_kk("1508142001120001").ok
    assert not check_no_kk("1508144501120001").ok
    assert not check_no_kk("1508142001120000").ok
