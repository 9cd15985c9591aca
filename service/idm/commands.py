"""CLI: ``kawasan idm import FILE``: the Kemendes IDM spreadsheet into the shared schema.

Runs the same import as the API, synchronously, and prints the report (row, column, problem). ``--wilayah``
limits it to one kabupaten or kecamatan (codes outside are row errors), as the API does for its caller's
region. Exit codes: 0 imported (or checked), 1 rejected (nothing written), 2 unreadable file or bad option.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from service.cli_support import cli_actor, cli_runtime, fail
from service.idm.impor import impor
from service.idm.skema import SKEMA, SkemaTidakDikenal, skema
from service.penduduk.impor import MAX_BYTES, BerkasTidakValid
from service.regions.codes import InvalidKode, Tingkat, parse_kode


def wilayah_option(value: str | None) -> str | None:
    """A kecamatan or kabupaten code (dotted), or exit 2."""
    if value is None:
        return None
    try:
        kode = parse_kode(value)
    except InvalidKode as exc:
        fail(str(exc))
    if kode.tingkat not in (Tingkat.KECAMATAN, Tingkat.KABUPATEN):
        fail(f"{kode}: --wilayah harus kecamatan atau kabupaten / must be a kecamatan or kabupaten")
    return kode.dotted


def read_file(file: Path) -> bytes:
    try:
        with file.open("rb") as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")


@click.group()
def idm() -> None:
    """Indeks Desa Membangun: import the Kemendes spreadsheet."""


@idm.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tahun", type=click.IntRange(2015, 2100), help="Year of columns without one (IKS, IKE, IKL); "
              "with year columns (IKS 2023 …), only that year is read.")
@click.option("--skema", "skema_kode", default="IDM-2016", show_default=True, type=click.Choice(tuple(SKEMA)))
@click.option("--wilayah", help="Only desa of this kabupaten or kecamatan (others are row errors).")
@click.option("--periksa", is_flag=True, help="Check only; write nothing.")
def import_command(file: Path, tahun: int | None, skema_kode: str, wilayah: str | None, periksa: bool) -> None:
    """Import FILE (xlsx or CSV, Kemendes IDM layout keyed by KODE DESA): every row or none."""
    region = wilayah_option(wilayah)
    data = read_file(file)
    try:
        sk = skema(skema_kode)
        with cli_runtime().engine.begin() as conn:
            laporan = impor(conn, data, sk, wilayah=region, tahun=tahun, oleh=cli_actor(), periksa_saja=periksa)
    except (BerkasTidakValid, SkemaTidakDikenal) as exc:
        fail(f"{file}: {exc}")
    for line in laporan.lines():
        click.echo(line)
    if laporan.rejected:
        sys.exit(1)
