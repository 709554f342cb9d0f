"""The composition root: the one place that wires settings to concrete adapters."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from scanroute.services.attribution import AttributionService
from scanroute.services.catalog import CampaignService, PlacementService
from scanroute.services.codes import CodeService
from scanroute.services.conversion_import import ImportService
from scanroute.services.conversions import ConversionService
from scanroute.services.fx import FxService
from scanroute.services.qr import QrService
from scanroute.services.tenants import Authenticator, KeyService, MemberService, WorkspaceService
from scanroute.settings import Settings
from scanroute.storage import migrate
from scanroute.storage.db import Database


@dataclass
class Container:
    """Everything a process needs, built once from settings."""

    settings: Settings
    db: Database
    base_url: str
    workspaces: WorkspaceService
    keys: KeyService
    members: MemberService
    auth: Authenticator
    campaigns: CampaignService
    placements: PlacementService
    codes: CodeService
    conversions: ConversionService
    conversion_import: ImportService
    attribution: AttributionService
    fx: FxService
    qr: QrService
    extras: dict[str, Any] = field(default_factory=dict)

    def short_url(self, slug: str) -> str:
        """The public URL a code's QR image encodes."""
        return f"{self.base_url}/{slug}"

    def close(self) -> None:
        """Release connections."""
        self.qr.close()
        self.db.dispose()


def build(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    apply_migrations: bool = False,
) -> Container:
    """Wire a container; optionally apply pending migrations first."""
    db = Database(settings.effective_database_url)
    if apply_migrations:
        migrate.upgrade(db)
    base_url = settings.public_base_url(host, port)
    qr = QrService(db, base_url=base_url, slug_length=settings.slug_length, data_dir=settings.data_dir)
    conversions = ConversionService(db, lead_dedupe=timedelta(hours=settings.lead_dedupe_hours))
    return Container(
        settings=settings,
        db=db,
        base_url=base_url,
        workspaces=WorkspaceService(
            db, currency=settings.default_currency, timezone=settings.default_timezone
        ),
        keys=KeyService(db),
        members=MemberService(db),
        auth=Authenticator(db),
        campaigns=CampaignService(db),
        placements=PlacementService(db),
        codes=CodeService(db, slug_length=settings.slug_length, studio=qr.saving),
        conversions=conversions,
        conversion_import=ImportService(db, conversions),
        attribution=AttributionService(db, base_url=base_url),
        fx=FxService(db),
        qr=qr,
    )


SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def secret_key(settings: Settings) -> bytes:
    """``settings.secret_key``, or a random key generated once and kept in ``data_dir/secret_key``.

    The file is created atomically with mode 0600 (a temporary file hard-linked into place), so
    concurrent workers all end up with the same key. Set ``SCANROUTE_SECRET_KEY`` when several
    machines serve the same database.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = Path(settings.data_dir) / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):  # another worker won the race: use its key
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip().encode()
