"""CLI: ``kawasan peta import FILE.geojson``: village boundaries (and office points) from GeoJSON.

Same checks as the API (shapely validity, Polygon/MultiPolygon or Point, WGS84 inside Indonesia, known
village codes, within ``--wilayah``); every feature or none. Exit codes: 0 imported, 1 rejected, 2 unreadable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from service.cli_support import cli_actor, cli_runtime, fail
from service.idm.commands import read_file, wilayah_option
from service.peta.services import impor


@click.group()
def peta() -> None:
    """Village maps: import boundaries."""


@peta.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--wilayah", help="Only villages of this kabupaten or kecamatan (others are errors).")
def import_command(file: Path, wilayah: str | None) -> None:
    """Import FILE (GeoJSON FeatureCollection, WGS84, a village code property per feature)."""
    region = wilayah_option(wilayah)
    try:
        doc = json.loads(read_file(file))
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"{file}: bukan GeoJSON / not JSON: {exc}")
    with cli_runtime().engine.begin() as conn:
        laporan = impor(conn, doc, wilayah=region, sumber=f"impor:{file.name}", oleh=cli_actor())
    for line in laporan.lines():
        click.echo(line)
    if laporan.rejected:
        sys.exit(1)
