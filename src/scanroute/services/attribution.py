"""Reading conversions, journeys and attribution results; the pixel secret; full re-attribution.

The read side of issue 5, shared by the REST API and the CLI. Credits are only ever shown per
model (one row per conversion, model and touch); nothing here adds up a "full credit to every
touch" figure.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, replace
from datetime import datetime

from scanroute.attribution.engine import attribute
from scanroute.attribution.journeys import Journey, customer_journey
from scanroute.attribution.models import Model
from scanroute.attribution.pixel import canonical, signed_url
from scanroute.domain.errors import NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import require, utcnow
from scanroute.storage import attribution as settings_store
from scanroute.storage import conversions as store
from scanroute.storage.attribution import CreditRecord
from scanroute.storage.catalog import code_by_slug
from scanroute.storage.conversions import ConversionFilter, ConversionRecord
from scanroute.storage.db import Database
from scanroute.storage.paging import Page


@dataclass(frozen=True, slots=True)
class ConversionDetail:
    """A conversion with its credit rows under every model."""

    conversion: ConversionRecord
    credits: list[CreditRecord]


@dataclass(frozen=True, slots=True)
class PixelInfo:
    """What an admin needs to sign pixel URLs."""

    workspace: str
    secret: str
    example_url: str
    signed_text: str


class AttributionService:
    """Read conversions and credits of the caller's workspace."""

    def __init__(self, db: Database, *, base_url: str) -> None:
        self.db = db
        self.base_url = base_url

    def list(
        self,
        principal: Principal,
        where: ConversionFilter,
        *,
        code: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[ConversionRecord]:
        """A page of conversions, newest first, with filters (``code`` is a slug)."""
        with self.db.read() as conn:
            if code is not None:
                found = code_by_slug(conn, code)
                code_id = (
                    found.id if found is not None and found.workspace_id == principal.workspace_id else 0
                )
                where = replace(where, code_id=code_id)
            return store.list_conversions(conn, principal.workspace_id, where, limit=limit, cursor=cursor)

    def get(self, principal: Principal, ident: int) -> ConversionDetail:
        """One conversion and its credits under every model."""
        with self.db.read() as conn:
            found = store.conversion(conn, principal.workspace_id, ident)
            if found is None:
                raise NotFound(f"conversion {ident} does not exist")
            return ConversionDetail(found, settings_store.credits_of(conn, principal.workspace_id, [ident]))

    def details(
        self, principal: Principal, items: builtins.list[ConversionRecord]
    ) -> builtins.list[ConversionDetail]:
        """Conversions with their credits (one query)."""
        with self.db.read() as conn:
            credits = settings_store.credits_of(conn, principal.workspace_id, [c.id for c in items])
        by_conversion: dict[int, list[CreditRecord]] = {}
        for row in credits:
            by_conversion.setdefault(row.conversion_id, []).append(row)
        return [ConversionDetail(c, by_conversion.get(c.id, [])) for c in items]

    def journey(self, principal: Principal, external_id: str, at: datetime | None = None) -> Journey:
        """A customer's scans across codes and campaigns inside the lookback before ``at`` (now)."""
        with self.db.read() as conn:
            settings = settings_store.settings_of(conn, principal.workspace_id)
            return customer_journey(
                conn, principal.workspace_id, external_id, until=at or utcnow(), lookback=settings.lookback
            )

    def credits(
        self,
        principal: Principal,
        model: Model | None,
        since: datetime | None,
        until: datetime | None,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[str, Page[CreditRecord]]:
        """A page of credit rows of one model (default: the workspace's); returns the model too."""
        with self.db.read() as conn:
            chosen = model.value if model else settings_store.settings_of(conn, principal.workspace_id).model
            page = settings_store.page_credits(
                conn, principal.workspace_id, chosen, since, until, limit=limit, cursor=cursor
            )
        return chosen, page

    def pixel(self, principal: Principal, *, rotate: bool = False) -> PixelInfo:
        """The pixel secret and a signed example URL (admin); ``rotate`` replaces the secret."""
        require(principal, Role.ADMIN, "reading the pixel secret")
        with self.db.write() as conn:
            settings = settings_store.settings_of(conn, principal.workspace_id)
            secret = (
                settings_store.rotate_pixel_secret(conn, principal.workspace_id)
                if rotate
                else settings_store.ensure_pixel_secret(conn, principal.workspace_id)
            )
            slug = settings.slug
        example = {
            "w": slug,
            "sid": "0123456789abcdefghijklmn",
            "type": "purchase",
            "value": "19.90",
            "currency": settings.currency,
            "order_id": "A-1001",
        }
        return PixelInfo(
            workspace=slug,
            secret=secret,
            example_url=signed_url(self.base_url, secret, example),
            signed_text=canonical(example.items()),
        )

    def reattribute(self, principal: Principal) -> int:
        """Recompute every conversion's credits (admin); returns how many conversions."""
        require(principal, Role.ADMIN, "re-attributing conversions")
        with self.db.write() as conn:
            ids = store.all_conversion_ids(conn, principal.workspace_id)
            attribute(conn, principal.workspace_id, ids)
        return len(ids)
