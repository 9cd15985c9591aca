import pytest

from service.regions.codes import InvalidKode, Tingkat, parse_desa_kode, parse_kode, schema_name_for


@pytest.mark.parametrize(
    ("raw", "dotted", "tingkat"),
    [
        ("15", "15", Tingkat.PROVINSI),
        ("15.08", "15.08", Tingkat.KABUPATEN),
        ("1508", "15.08", Tingkat.KABUPATEN),
        ("15.08.14", "15.08.14", Tingkat.KECAMATAN),
        ("150814", "15.08.14", Tingkat.KECAMATAN),
        ("15.08.14.2001", "15.08.14.2001", Tingkat.DESA),
        ("1508142001", "15.08.14.2001", Tingkat.DESA),
        (" 1508142001 ", "15.08.14.2001", Tingkat.DESA),
    ],
)
def test_dotted_and_digit_forms_mean_the_same_code(raw, dotted, tingkat):
    kode = parse_kode(raw)
    assert kode.dotted == dotted
    assert kode.tingkat is tingkat
    assert kode.digits == dotted.replace(".", "")


@pytest.mark.parametrize(
    "raw", ["", "1", "15.8", "15.08.14.201", "150814200", "15-08-14", "15.08.14.2001.1", "abc", None]
)
def test_malformed_codes_are_rejected_naming_the_code(raw):
    with pytest.raises(InvalidKode) as info:
        parse_kode(raw)
    assert str(raw or "") in str(info.value)


def test_codes_keep_leading_zeros():
    assert parse_kode("0801").dotted == "08.01"


def test_only_villages_are_tenants():
    assert schema_name_for(parse_kode("15.08.14.2001")) == "desa_1508142001"
    with pytest.raises(InvalidKode):
        schema_name_for(parse_kode("15.08.14"))
    with pytest.raises(InvalidKode):
        parse_desa_kode("15.08")


def test_parent_of_a_code():
    assert parse_kode("1508142001").induk == parse_kode("15.08.14")
    assert parse_kode("15").induk is None
