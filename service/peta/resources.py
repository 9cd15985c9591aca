"""Village maps for the dashboards: ``/api/v1/wilayah/<kode>/peta`` (GeoJSON with population and IDM status,
region policies), ``…/peta/batas`` (boundary upload, admins) and the public ``/api/v1/peta/desa`` (code, name
and point of each village only)."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import Response, current_app, g, jsonify, request
from flask.views import MethodView

from service.api import Blueprint, Schema, problem, problem_response
from service.audit.services import record
from service.idm.resources import EDITORS, READ_SCOPES, READERS
from service.idm.schemas import SKEMA_ARG
from service.idm.skema import skema
from service.peta import services
from service.regions.codes import InvalidKode, Tingkat, parse_kode
from service.regions.services import UnknownKode, get_region
from service.tenancy import current_region

blp = Blueprint("peta", __name__, url_prefix="/api/v1", region_scoped=True,
                description="Village maps (GeoJSON) of a kecamatan or kabupaten")
publik_blp = Blueprint("peta_publik", __name__, url_prefix="/api/v1/peta", description="Public village points")

GEOJSON = "application/geo+json"


class PetaArgs(Schema):
    bentuk = ma.fields.String(load_default="titik", validate=ma.validate.OneOf(("titik", "batas")), metadata={
        "description": "titik: a Point per village; batas: the boundary where imported, else the Point"})
    skema = SKEMA_ARG


class PetaPublikArgs(Schema):
    wilayah = ma.fields.String(required=True, metadata={"description": "kecamatan or kabupaten code",
                                                        "example": "15.08.14"})


def _engine():
    return current_app.extensions["kawasan"].engine


def _geojson(doc: dict[str, Any]):
    response = jsonify(doc)
    response.mimetype = GEOJSON
    return response


@blp.route("/peta")
class Peta(MethodView):
    @blp.requires(*READERS, clients=READ_SCOPES)
    @blp.arguments(PetaArgs, location="query")
    @blp.response(200, description="GeoJSON FeatureCollection (application/geo+json); Feature id = village code")
    def get(self, args):
        """Every village of the region: point or boundary, population, latest IDM status"""
        with _engine().connect() as conn:
            body = services.feature_collection(conn, current_region(), skema(args["skema"]), bentuk=args["bentuk"])
        return Response(body, mimetype=GEOJSON)


@blp.route("/peta/batas")
class Batas(MethodView):
    @blp.requires(*EDITORS)
    @blp.doc(requestBody={"required": True, "content": {
        GEOJSON: {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}},
        "description": "GeoJSON FeatureCollection in WGS84; each feature names its village in a property kode, "
                       "kode_desa or KDEPUM; Polygon/MultiPolygon (boundary) or Point (office)"})
    @blp.alt_response(422, description="Per-feature errors [{field, fitur, kode, message}]: nothing was written")
    def put(self):
        """Import village boundaries (and office points) for this region: every feature or none"""
        try:
            doc = json.loads(request.get_data() or b"null")
        except (ValueError, UnicodeDecodeError):
            problem(422, "bukan JSON / not JSON", field="body", location="body")
        region = current_region()
        with _engine().begin() as conn:
            laporan = services.impor(conn, doc, wilayah=region, sumber="impor:api", oleh=g.principal.subject)
            if not laporan.rejected:
                record(conn, "impor_peta", aktor=g.principal, objek=f"wilayah:{region}",
                       detail={"batas": laporan.batas, "titik": laporan.titik})
        if laporan.rejected:
            errors = [{"field": e.field, "location": "body", "fitur": e.fitur, "kode": e.kode, "message": e.message}
                      for e in laporan.errors]
            return problem_response(422, "Unprocessable Entity",
                                    f"{len(errors)} kesalahan; tidak ada yang disimpan / errors, nothing was written",
                                    errors)
        return laporan.to_dict()


@publik_blp.route("/desa")
@publik_blp.public
@publik_blp.arguments(PetaPublikArgs, location="query")
@publik_blp.response(200, description="GeoJSON FeatureCollection of points (application/geo+json)")
def titik_desa(args):
    """Public: the code, name and point of every village of a kecamatan or kabupaten"""
    try:
        kode = parse_kode(args["wilayah"])
    except InvalidKode as exc:
        problem(404, exc.reason, field="wilayah", location="query")
    if kode.tingkat not in (Tingkat.KECAMATAN, Tingkat.KABUPATEN):
        problem(404, f"{kode}: bukan kecamatan/kabupaten / not a kecamatan or kabupaten", field="wilayah",
                location="query")
    with _engine().connect() as conn:
        try:
            get_region(conn, kode)
        except UnknownKode as exc:
            problem(404, str(exc), field="wilayah", location="query")
        doc = services.titik_publik(conn, kode.dotted)
    return _geojson(doc)
