"""The kabupaten workspace: letter SLA monitoring per kecamatan and desa, and the kabupaten's own approval inbox
(letters whose chain reaches the kabupaten), with the same pages as the kecamatan workspace."""

from __future__ import annotations

from service.portal.kecamatan import inbox_pages
from service.portal.web import PortalBlueprint, nav_item

bp = PortalBlueprint("portal_kabupaten", __name__, wilayah="kabupaten")
inbox_pages(bp)

nav_item("SLA surat", "portal_kabupaten.sla", level="kabupaten", urutan=20)
nav_item("Kotak masuk surat", "portal_kabupaten.kotak_masuk", level="kabupaten", urutan=30)
