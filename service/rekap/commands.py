"""CLI: ``kawasan stats verify [CODE]`` and ``kawasan stats rebuild [CODE]``.

``verify`` recomputes each desa from its own tables and prints every figure that differs from its stored
rollup (tab separated: desa, figure, key, stored, actual). Exit codes: 0 all equal, 1 differences found,
2 the code is malformed or unknown. Figures are counts and codes only, never personal data.
"""

from __future__ import annotations

import json
import sys

import click

from service.cli_support import cli_runtime, fail
from service.regions.codes import InvalidKode
from service.regions.services import UnknownKode


@click.group("stats")
def stats() -> None:
    """Rollups for the kecamatan and kabupaten dashboards: check and rebuild."""


@stats.command("verify")
@click.argument("code", required=False)
def stats_verify(code: str | None) -> None:
    """Compare the stored rollups of every desa under CODE (desa, kecamatan or kabupaten; default all)
    with a recomputation from each desa's own tables."""
    from service.rekap.services import verifikasi

    try:
        desa, selisih = verifikasi(cli_runtime().engine, code)
    except (InvalidKode, UnknownKode) as exc:
        fail(str(exc))
    for s in selisih:
        d = s.as_dict()
        click.echo("\t".join(str(x) for x in (d["desa"], d["angka"], d["kunci"], json.dumps(d["tersimpan"]),
                                              json.dumps(d["sebenarnya"]))))
    berbeda = len({s.desa for s in selisih})
    click.echo(f"{len(desa)} desa checked, {berbeda} with differences, {len(selisih)} differing figures",
               err=True)
    sys.exit(1 if selisih else 0)


@stats.command("rebuild")
@click.argument("code", required=False)
@click.option("--jobs", "-j", default=2, show_default=True, help="Processes recomputing in parallel.")
def stats_rebuild(code: str | None, jobs: int) -> None:
    """Recompute the rollup of every desa under CODE (default all) from scratch."""
    from service.rekap.services import bangun_ulang

    try:
        result = bangun_ulang(cli_runtime().engine, code, jobs=jobs)
    except (InvalidKode, UnknownKode) as exc:
        fail(str(exc))
    click.echo(f"{result['desa']} desa rebuilt in {result['detik']} s (ages at {result['tanggal_acuan']})")
