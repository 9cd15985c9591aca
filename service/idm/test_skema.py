"""The IDM rule itself: formula, four-decimal rounding and the exact thresholds of Permendes 2/2016."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.idm.services import SkorTidakValid, angka, hitung
from service.idm.skema import ID_2024, IDM_2016, SkemaBelumTersedia, SkemaTidakDikenal, skema, status_idm


@pytest.mark.parametrize(("nilai", "status"), [
    ("0", "sangat_tertinggal"),
    ("0.4907", "sangat_tertinggal"),  # exactly at the threshold: the lower status (inclusive upper bound)
    ("0.4908", "tertinggal"),
    ("0.5989", "tertinggal"),
    ("0.5990", "berkembang"),
    ("0.7072", "berkembang"),
    ("0.7073", "maju"),  # Kemendes' "skor minimal" for the Maju target
    ("0.8155", "maju"),
    ("0.8156", "mandiri"),
    ("1", "mandiri"),
])
def test_status_at_and_next_to_each_threshold(nilai, status):
    assert status_idm(nilai) == status


def _h(iks, ike, ikl):
    return hitung(IDM_2016, {"iks": iks, "ike": ike, "ikl": ikl})


def test_index_is_the_mean_rounded_half_up_to_four_decimals():
    at_threshold = _h("0.7072", "0.7072", "0.7072")
    assert (at_threshold.nilai, at_threshold.status) == (Decimal("0.7072"), "berkembang")
    # 2.1217 / 3 = 0.707233… → 0.7072: still Berkembang, although the unrounded mean is above 0.7072
    just_above = _h("0.7072", "0.7072", "0.7073")
    assert (just_above.nilai, just_above.status) == (Decimal("0.7072"), "berkembang")
    # 2.12175 / 3 = 0.70725 exactly → half up → 0.7073: Maju
    half = _h("0.70725", "0.70725", "0.70725")
    assert (half.nilai, half.status) == (Decimal("0.7073"), "maju")
    # 2.4465 / 3 = 0.8155 exactly: Maju; one ten-thousandth more: Mandiri
    assert _h("0.8155", "0.8155", "0.8155").status == "maju"
    assert _h("0.8156", "0.8155", "0.8157").status == "mandiri"


def test_published_kemendes_figures_come_out_the_same():
    # idm.kemendesa.go.id rumusan 1101022001/2021: IDM 0.61904761904762, BERKEMBANG
    api = _h(0.65714285714286, 0.53333333333333, 0.66666666666667)
    assert (api.nilai, api.status) == (Decimal("0.6190"), "berkembang")
    # Berita Acara IDM 2023, Desa Kalaan (6303112002): 0.7543, 0.6, 0.6667 → 0.6737 BERKEMBANG
    ba = _h("0.7543", "0.6", "0.6667")
    assert (ba.nilai, ba.status) == (Decimal("0.6737"), "berkembang")


def test_scores_are_checked_and_the_dimension_named():
    with pytest.raises(SkorTidakValid) as missing:
        hitung(IDM_2016, {"iks": "0.5", "ike": "0.5"})
    assert missing.value.field == "ikl"
    with pytest.raises(SkorTidakValid) as too_big:
        _h("0.5", "1.2", "0.5")
    assert too_big.value.field == "ike"
    with pytest.raises(SkorTidakValid) as text:
        _h("0.5", "0.5", "tinggi")
    assert text.value.field == "ikl"


@pytest.mark.parametrize(("cell", "value"), [
    ("0,6571", Decimal("0.6571")), (" '0.6571 ", Decimal("0.6571")), (0.6571, Decimal("0.6571")), (1, Decimal(1)),
    ("-", None), ("", None), (None, None), (",5", Decimal("0.5")),
])
def test_messy_cells_read_as_numbers(cell, value):
    assert angka(cell) == value


@pytest.mark.parametrize("cell", ["abc", "1.234,5", "0.5.1", True])
def test_what_is_not_a_number_is_refused(cell):
    with pytest.raises(ValueError):
        angka(cell)


def test_schemes_are_versioned_and_the_2024_index_refuses_until_its_rule_is_known():
    assert skema(None) is IDM_2016 and skema("idm-2016") is IDM_2016
    assert skema("ID-2024") is ID_2024 and set(ID_2024.dimensi) == {"dld", "ds", "de", "dl", "da", "dtkpd"}
    with pytest.raises(SkemaBelumTersedia):
        hitung(ID_2024, dict.fromkeys(ID_2024.dimensi, "0.5"))
    with pytest.raises(SkemaTidakDikenal):
        skema("IPD-2018")
