"""``kawasan idm import`` and ``kawasan peta import`` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json

from sqlalchemy import text


def test_idm_import_reports_rows_and_writes_all_or_nothing(cli, tmp_path, engine):
    bad = tmp_path / "idm-2037.csv"
    bad.write_text("KODE DESA;IKS;IKE;IKL\n1508012001;0,61;0,55;0,6\n1508012099;0,61;0,55;0,6\n")
    rejected = cli("idm", "import", str(bad), "--tahun", "2037", "--wilayah", "15.08")
    assert rejected.returncode == 1, rejected.stderr
    assert "DITOLAK" in rejected.stdout and "baris 3, kolom KODE DESA" in rejected.stdout
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM kawasan.indeks_desa WHERE tahun = 2037")) == 0

    outside = cli("idm", "import", str(bad), "--tahun", "2037", "--wilayah", "15.08.14")
    assert outside.returncode == 1 and "di luar wilayah 15.08.14" in outside.stdout

    good = tmp_path / "idm-2037-ok.csv"
    good.write_text("KODE DESA;IKS;IKE;IKL\n1508012001;0,61;0,55;0,6\n")
    assert cli("idm", "import", str(good), "--wilayah", "15.08").returncode == 2  # no year anywhere
    done = cli("idm", "import", str(good), "--tahun", "2037", "--wilayah", "15.08")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "baru / inserted: 1" in done.stdout
    with engine.connect() as conn:
        row = conn.execute(text("SELECT nilai, status, sumber FROM kawasan.indeks_desa "
                                "WHERE desa_kode = '15.08.01.2001' AND tahun = 2037")).one()
    assert (str(row.nilai), row.status, row.sumber) == ("0.5867", "tertinggal", "impor")
    assert cli("idm", "import", str(tmp_path / "nope.csv"), "--tahun", "2037").returncode == 2


def test_peta_import_checks_every_feature(cli, tmp_path, engine):
    square = [[[102.0, -1.3], [102.02, -1.3], [102.02, -1.28], [102.0, -1.28], [102.0, -1.3]]]
    path = tmp_path / "batas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"KDEPUM": "1508012002"}, "geometry": {"type": "Polygon",
                                                                                "coordinates": square}},
        {"type": "Feature", "properties": {"KDEPUM": "1508012003"}, "geometry": None},
    ]}))
    rejected = cli("peta", "import", str(path), "--wilayah", "15.08")
    assert rejected.returncode == 1 and "fitur 2, 15.08.01.2003, geometry.type" in rejected.stdout
    doc = json.loads(path.read_text())
    doc["features"].pop()
    path.write_text(json.dumps(doc))
    done = cli("peta", "import", str(path), "--wilayah", "15.08")
    assert done.returncode == 0, done.stdout + done.stderr
    with engine.connect() as conn:
        row = conn.execute(text("SELECT sumber_batas, sumber_titik, batas->>'type' AS tipe FROM kawasan.peta_desa "
                                "WHERE desa_kode = '15.08.01.2002'")).one()
    assert (row.sumber_batas, row.sumber_titik, row.tipe) == ("impor:batas.geojson", "batas", "Polygon")
