"""The demo's staff accounts: one per level, the kabupaten administrator included (IDM edits without the
platform administrator). The whole `kawasan demo` run is tested in tests/test_demo.py (slow)."""

from __future__ import annotations

from service.auth.policy import may_reach
from service.auth.services import sign_in_staff
from service.demo import DEMO_PASSWORD, seed_accounts


def test_the_demo_kabupaten_admin_may_edit_the_idm_of_bungo_only(fresh_database, app):
    fresh = fresh_database()
    lines = seed_accounts(fresh.engine)
    assert any(line.split()[:2] == ["admin.bungo", "admin_kabupaten@15.08"] for line in lines)
    admin = sign_in_staff(fresh.engine, "admin.bungo", DEMO_PASSWORD)
    # The IDM editing endpoints (entry by hand, import) let them in for Bungo and its kecamatan ...
    for endpoint, method in (("idm.SkorTahun", "PUT"), ("idm.SkorTahun", "DELETE"), ("idm.Impor", "POST")):
        assert may_reach(app, endpoint, admin, "15.08", method)
        assert may_reach(app, endpoint, admin, "15.08.14", method)
        assert not may_reach(app, endpoint, admin, "15.09", method)  # ... never another kabupaten
    # The staff analyst reads but may not edit.
    analis = sign_in_staff(fresh.engine, "analis.bungo", DEMO_PASSWORD)
    assert may_reach(app, "idm.TabelDesa", analis, "15.08")
    assert not may_reach(app, "idm.SkorTahun", analis, "15.08", "PUT")
    # A second demo run creates nothing new and lists the same accounts.
    assert seed_accounts(fresh.engine) == lines
