"""Jobs of the register: keep each desa's figures in the shared schema current."""

from __future__ import annotations

from typing import Any

from service.penduduk.services import TOPIC_BERUBAH
from service.rekap.tasks import perbarui
from workers.jobs import JobContext, handles


@handles(TOPIC_BERUBAH)
def recompute_ringkasan(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Recompute the desa's rollup (``kawasan.rekap_*``) and its public summary (``kawasan.desa_ringkasan``)
    from its own tables. Letters emit the same event, so a burst of register and letter changes costs one
    recomputation: the event is coalesced on its key ``penduduk.berubah:<desa>``."""
    result = perbarui(ctx, desa_kode)
    return {**result, "penduduk_hidup": result["penduduk"], "keluarga_aktif": result["jumlah_kk"]}
