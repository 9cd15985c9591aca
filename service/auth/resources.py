"""``/api/v1/auth``: sign-in, tokens, PIN change, portal sessions; ``/.well-known/jwks.json``; and the
desa operator's Layanan Mandiri desk (issue or reset PINs, see and lift locks)."""

from __future__ import annotations

from flask import current_app, g, request
from flask.views import MethodView
from sqlalchemy import select

from service.api import Blueprint, problem
from service.audit.services import record
from service.auth import services
from service.auth.principal import Kind
from service.auth.ratelimit import RateLimited, hit
from service.auth.roles import DESA_STAFF
from service.auth.schemas import (
    ChangePinArgs,
    IssuedPin,
    LockedResident,
    LoginArgs,
    LogoutArgs,
    Me,
    NikArgs,
    RefreshArgs,
    SessionInfo,
    TokenPair,
    UnlockArgs,
    WargaSaya,
)
from service.auth.sessions import end_session, start_session
from service.penduduk.models import Penduduk
from service.tenancy import current_desa, desa_db

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in and tokens")
wellknown = Blueprint("jwks", __name__, url_prefix="/.well-known", description="Token signing keys")
mandiri = Blueprint("layanan_mandiri", __name__, url_prefix="/api/v1", desa_scoped=True,
                    description="Residents' sign-in (Layanan Mandiri): PINs and locks, own data")

IP_LIMIT = (30, 60)  # attempts per window (seconds) per client address
SUBJECT_LIMIT = (10, 900)  # per NIK or username


def _engine():
    return current_app.extensions["kawasan"].engine


def _auth():
    return current_app.extensions["kawasan_auth"]


def _sign_in(args) -> services.Principal:
    redis = current_app.extensions["kawasan"].redis
    subject = f"{args['desa']}:{args['nik']}" if "nik" in args else args["username"].lower()
    try:
        hit(redis, "login-ip", request.remote_addr or "-", limit=IP_LIMIT[0], window=IP_LIMIT[1])
        hit(redis, "login-subject", subject, limit=SUBJECT_LIMIT[0], window=SUBJECT_LIMIT[1])
    except RateLimited as exc:
        problem(429, str(exc), headers={"Retry-After": str(exc.retry_after)})
    try:
        if "nik" in args:
            return services.sign_in_warga(_engine(), args["desa"].dotted, args["nik"], args["pin"])
        return services.sign_in_staff(_engine(), args["username"], args["password"])
    except services.SignInFailed as exc:
        problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="kawasan"'})
    except services.AccountLocked as exc:
        problem(423, str(exc))


@blp.route("/login")
class Login(MethodView):
    @blp.public
    @blp.arguments(LoginArgs)
    @blp.response(200, TokenPair)
    @blp.alt_response(401, description="Wrong credentials (same answer for unknown accounts)")
    @blp.alt_response(423, description="Warga account locked; the operator lifts it")
    @blp.alt_response(429, description="Too many attempts from this address or for this account")
    def post(self, args):
        """Sign in: staff with username/email + password, warga with desa + NIK + PIN"""
        return services.issue_tokens(_engine(), _auth().tokens, _sign_in(args))


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.public
    @blp.arguments(RefreshArgs)
    @blp.response(200, TokenPair)
    def post(self, args):
        """Exchange a refresh token for a new pair (the old one is spent)"""
        try:
            return services.refresh_tokens(_engine(), _auth().tokens, args["refresh_token"])
        except services.RefreshRejected as exc:
            problem(401, str(exc), field="refresh_token")


@blp.route("/logout")
class Logout(MethodView):
    @blp.requires(any_principal=True, pin_change=True)
    @blp.arguments(LogoutArgs)
    @blp.response(204)
    def post(self, args):
        """Revoke this access token and its refresh-token family"""
        claims = None
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            claims = _auth().tokens.decode(header.split(" ", 1)[1].strip())
        services.sign_out(_engine(), _auth().tokens, g.principal, claims, args.get("refresh_token"))
        end_session()


@blp.route("/pin")
class ChangePin(MethodView):
    @blp.requires(any_principal=True, pin_change=True)
    @blp.arguments(ChangePinArgs)
    @blp.response(200, TokenPair)
    def post(self, args):
        """Warga: change the PIN (required after the operator issued or reset it)"""
        principal = g.principal
        if principal.kind is not Kind.WARGA:
            problem(403, "hanya untuk warga / residents only")
        try:
            services.change_pin(_engine(), principal, args["pin_lama"], args["pin_baru"])
        except services.SignInFailed:
            problem(400, "PIN lama salah / wrong current PIN", field="pin_lama")
        except ValueError as exc:
            problem(400, str(exc), field="pin_baru")
        fresh = services._current_principal(_engine(), principal.subject)
        return services.issue_tokens(_engine(), _auth().tokens, fresh)


@blp.route("/me")
class WhoAmI(MethodView):
    @blp.requires(any_principal=True, pin_change=True)
    @blp.response(200, Me)
    def get(self):
        """Who the token or session belongs to"""
        p = g.principal
        return {"jenis": p.kind.value, "subject": p.subject, "nama": p.name, "peran": [str(x) for x in p.grants],
                "desa": p.desa_kode, "pin_change_required": p.must_change_pin}


@blp.route("/session")
class PortalSession(MethodView):
    @blp.public
    @blp.arguments(LoginArgs)
    @blp.response(200, SessionInfo)
    def post(self, args):
        """Portal sign-in: sets an HttpOnly SameSite session cookie; echo csrf_token in X-CSRF-Token"""
        principal = _sign_in(args)
        csrf = start_session(principal)
        return {"csrf_token": csrf, "principal": {"nama": principal.name, "jenis": principal.kind.value}}

    @blp.requires(any_principal=True, pin_change=True)
    @blp.response(204)
    def delete(self):
        """Portal sign-out"""
        record(_engine(), "logout", aktor=g.principal, desa_kode=g.principal.desa_kode)
        end_session()


@wellknown.route("/jwks.json")
@wellknown.public
def jwks():
    """Public keys that verify Kawasan access tokens (current and recently rotated)"""
    return _auth().keyring.jwks(), 200, {"Cache-Control": "public, max-age=300"}


# --- desa desk ------------------------------------------------------------------------------------------


@mandiri.route("/akun-warga/pin")
class IssuePin(MethodView):
    @mandiri.requires(*DESA_STAFF)
    @mandiri.arguments(NikArgs)
    @mandiri.response(201, IssuedPin)
    def post(self, args):
        """Issue or reset a resident's PIN (NIK in the body, never in the URL); unlocks the account"""
        session = desa_db()
        try:
            pin = services.issue_pin(session, args["nik"])
        except services.UnknownResident as exc:
            problem(404, str(exc), field="nik")
        session.commit()
        record(_engine(), "pin_diterbitkan", aktor=g.principal, desa_kode=current_desa().kode)
        return {"pin": pin}


@mandiri.route("/akun-warga/terkunci")
class LockedList(MethodView):
    @mandiri.requires(*DESA_STAFF)
    @mandiri.response(200, LockedResident(many=True))
    def get(self):
        """Residents locked out after repeated wrong PINs"""
        return services.locked_residents(desa_db())


@mandiri.route("/akun-warga/buka-kunci")
class Unlock(MethodView):
    @mandiri.requires(*DESA_STAFF)
    @mandiri.arguments(UnlockArgs)
    @mandiri.response(204)
    def post(self, args):
        """Lift a resident's lock"""
        session = desa_db()
        if not services.unlock_resident(session, args["penduduk_id"]):
            problem(404, "tidak ada akun terkunci dengan id ini / no locked account with this id",
                    field="penduduk_id")
        session.commit()
        record(_engine(), "akun_warga_dibuka", aktor=g.principal, desa_kode=current_desa().kode,
               objek=f"penduduk:{args['penduduk_id']}")


@mandiri.route("/warga/saya")
class OwnData(MethodView):
    @mandiri.requires(warga=True)
    @mandiri.response(200, WargaSaya)
    def get(self):
        """Warga: own record and family members (same KK). Personal data: audited"""
        session = desa_db()
        saya = session.get(Penduduk, g.principal.penduduk_id)
        if saya is None:
            problem(404, "data penduduk tidak ditemukan / resident not found")
        keluarga = []
        if saya.keluarga_id:
            keluarga = session.scalars(
                select(Penduduk).where(Penduduk.keluarga_id == saya.keluarga_id, Penduduk.id != saya.id,
                                       Penduduk.status_dasar == 1).order_by(Penduduk.kk_level, Penduduk.id)
            ).all()
        record(_engine(), "baca_data_pribadi", aktor=g.principal, desa_kode=current_desa().kode,
               objek=f"keluarga:{saya.id}", detail={"jumlah": 1 + len(keluarga)})
        return {"saya": _anggota(saya), "keluarga": [_anggota(p) for p in keluarga]}


def _anggota(penduduk: Penduduk) -> dict:
    from service.penduduk.referensi import label

    return {"id": str(penduduk.public_id), "nama": penduduk.nama, "nik": penduduk.nik,
            "hubungan_keluarga": label("kk_level", penduduk.kk_level)}
