"""Who is asking: built from a verified access token or a portal session, never from the request body."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from service.auth.roles import Grant, Peran


class Kind(StrEnum):
    STAFF = "staff"
    WARGA = "warga"
    CLIENT = "client"


@dataclass(frozen=True)
class Principal:
    kind: Kind
    subject: str  # staff:<id>, warga:<desa>:<penduduk id>, client:<client_id>
    name: str
    grants: tuple[Grant, ...] = ()
    #: For a warga: their desa and penduduk id. For a client: the desa or kecamatan it is bound to.
    desa_kode: str | None = None
    penduduk_id: int | None = None
    #: OAuth scopes (clients) — what an integration may do within its grants.
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: A warga who must change the first PIN may do nothing else.
    must_change_pin: bool = False
    token_id: str | None = None

    def has_role(self, roles: tuple[Peran, ...], target: str | None) -> bool:
        return any(g.peran in roles and g.covers(target) for g in self.grants) or any(
            g.peran is Peran.ADMIN_PLATFORM for g in self.grants
        )

    @property
    def actor(self) -> str:
        return self.subject
