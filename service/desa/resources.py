"""``/api/v1/desa``: public village profiles."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from service.api import Blueprint
from service.desa import services
from service.desa.schemas import DesaListArgs, DesaProfile, DesaSummary
from service.tenancy import desa_db

blp = Blueprint("desa", __name__, url_prefix="/api/v1/desa", description="Public village profiles")
desa_blp = Blueprint("desa_profile", __name__, url_prefix="/api/v1", desa_scoped=True,
                     description="Public village profiles")


def _engine():
    return current_app.extensions["kawasan"].engine


@blp.route("")
class DesaList(MethodView):
    @blp.public
    @blp.arguments(DesaListArgs, location="query")
    @blp.response(200, DesaSummary(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Villages with a tenant, filtered by kecamatan or kabupaten code"""
        with _engine().connect() as conn:
            items, total = services.list_desa(
                conn, kecamatan=args.get("kecamatan"), kabupaten=args.get("kabupaten"), q=args.get("q"),
                offset=pagination_parameters.first_item, limit=pagination_parameters.page_size,
            )
        pagination_parameters.item_count = total
        return items


@desa_blp.route("")
class DesaDetail(MethodView):
    @desa_blp.public
    @desa_blp.response(200, DesaProfile)
    @desa_blp.alt_response(404, description="Unknown, malformed or unprovisioned desa code")
    def get(self):
        """One village's public profile (dotted or 10-digit code)"""
        with _engine().connect() as conn:
            return services.desa_profile(conn, desa_db())
