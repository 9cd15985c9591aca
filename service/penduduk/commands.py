"""CLI: ``kawasan penduduk import`` / ``export``: the population register in and out of one desa.

``import`` runs the same import as the API, synchronously in this process, and prints the report (row
numbers and column names, never a NIK). Exit codes: 0 imported, 1 rejected (nothing written), 2 the file
cannot be read or the desa is unknown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from service.cli_support import cli_actor, cli_runtime, fail
from service.penduduk import impor
from service.penduduk.impor import BerkasTidakValid


@click.group()
def penduduk() -> None:
    """Population register: bulk import and export."""


@penduduk.command("import")
@click.option("--desa", "desa", required=True, help="Desa code (15.08.14.2001 or 1508142001).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_command(desa: str, file: Path) -> None:
    """Import FILE (xlsx in OpenSID's FormatImporExcel / OpenDK layout, or CSV) into one desa."""
    from service.penduduk.impor import run_import
    from tenants.session import DesaNotFound

    try:
        with file.open("rb") as fh:
            data = fh.read(impor.MAX_BYTES + 1)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    try:
        report = run_import(cli_runtime().engine, desa, data, actor=cli_actor())
    except BerkasTidakValid as exc:
        fail(f"{file}: {exc}")
    except DesaNotFound as exc:
        fail(str(exc))
    for line in report.lines():
        click.echo(line)
    sys.exit(1 if report.rejected else 0)


@penduduk.command("export")
@click.option("--desa", "desa", required=True, help="Desa code (15.08.14.2001 or 1508142001).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="xlsx", show_default=True)
@click.option("--output", "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write ('-' for standard output, CSV only).")
def export_command(desa: str, fmt: str, output: Path) -> None:
    """Write the whole register of one desa in FormatImporExcel columns (re-imports unchanged). Audited."""
    from service.audit.services import record
    from service.penduduk.impor import export_register
    from tenants.session import DesaNotFound, desa_session

    runtime = cli_runtime()
    to_stdout = str(output) == "-"
    if to_stdout and fmt != "csv":
        fail("--output - is for CSV only")
    try:
        with desa_session(runtime.engine, desa) as session:
            content, count = export_register(session, fmt)
            kode = session.desa.kode
    except DesaNotFound as exc:
        fail(str(exc))
    if to_stdout:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        try:
            output.write_bytes(content)
        except OSError as exc:
            fail(f"{output}: {exc.strerror or exc}")
    record(runtime.engine, "ekspor_data_pribadi", aktor=cli_actor(), desa_kode=kode, objek="penduduk:register",
           detail={"format": fmt, "baris": count, "via": "cli"})
    if not to_stdout:
        click.echo(f"{count} penduduk written to {output}", err=True)
