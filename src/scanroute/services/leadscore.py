"""Lead-score use cases: train a workspace's model from its own scans and conversions, show its
card, score scans.

A training example is a non-bot scan of a code from the last ``TRAIN_DAYS`` days that is at least
``LABEL_DAYS`` old (so its label is final); it is positive when a conversion names it (``scan_id``)
or credits it (attribution) within ``LABEL_DAYS`` days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scanroute.analytics import leadscore
from scanroute.domain.errors import Conflict, Invalid, NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import require, utcnow
from scanroute.storage import insights as store
from scanroute.storage.db import Database

LABEL_DAYS = 7
TRAIN_DAYS = 180
MAX_EXAMPLES = 200_000


def _features(row: Any, zone: ZoneInfo) -> dict[str, str]:
    local = row.ts.astimezone(zone)
    return leadscore.features(
        device=row.device,
        os=row.os,
        browser=row.browser,
        country=row.country,
        hour=local.hour,
        weekday=local.weekday(),
        medium=row.medium,
        returning=bool(row.is_returning),
        campaign=row.campaign_id,
    )


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "created_at": record["created_at"], **record["card"]}


class LeadScoreService:
    """Trains, describes and applies lead-score models."""

    def __init__(self, db: Database, thresholds: leadscore.Thresholds | None = None) -> None:
        self.db = db
        self.thresholds = thresholds or leadscore.Thresholds()

    def examples(self, workspace_id: int, now: datetime) -> list[leadscore.Example]:
        """The workspace's labelled scans."""
        until = now - timedelta(days=LABEL_DAYS)
        horizon = timedelta(days=LABEL_DAYS)
        with self.db.read() as conn:
            zone = store.workspace_clock(conn, workspace_id).zone
            rows = store.lead_rows(
                conn, workspace_id, now - timedelta(days=TRAIN_DAYS), until, limit=MAX_EXAMPLES, labels=True
            )
            return [
                leadscore.Example(
                    r.ts,
                    _features(r, zone),
                    r.converted_at is not None
                    and r.ts - timedelta(minutes=1) <= r.converted_at <= r.ts + horizon,
                )
                for r in rows
            ]

    def train(self, workspace_id: int, *, now: datetime | None = None) -> dict[str, Any]:
        """Train (or explain why not), store the result and return its card."""
        now = now or utcnow()
        result = leadscore.train(
            self.examples(workspace_id, now), label_days=LABEL_DAYS, thresholds=self.thresholds
        )
        card = {**result.card, "trained_at": now.isoformat()}
        with self.db.write() as conn:
            ident = store.save_lead_model(conn, workspace_id, card["status"], card, result.model, now)
        return {"id": ident, "created_at": now, **card}

    def train_as(self, principal: Principal) -> dict[str, Any]:
        """Retrain on request (editors and above)."""
        require(principal, Role.EDITOR, "training the lead-score model")
        return self.train(principal.workspace_id)

    def train_all(self, *, now: datetime | None = None) -> dict[str, int]:
        """The scheduled job: every workspace; returns how many models are ready."""
        with self.db.read() as conn:
            ids = store.all_workspace_ids(conn)
        ready = sum(self.train(ws, now=now)["status"] == "ready" for ws in ids)
        return {"workspaces": len(ids), "ready": ready}

    def card(self, principal: Principal) -> dict[str, Any]:
        """The newest model card (training results that were insufficient included)."""
        require(principal, Role.VIEWER, "reading the lead-score model")
        with self.db.read() as conn:
            record = store.latest_lead_model(conn, principal.workspace_id)
        if record is None:
            raise NotFound("no lead-score model has been trained yet (POST .../leadscore/train)")
        return _public(record)

    def _model(self, workspace_id: int) -> tuple[dict[str, Any], ZoneInfo]:
        with self.db.read() as conn:
            newest = store.latest_lead_model(conn, workspace_id)
            ready = store.latest_lead_model(conn, workspace_id, ready=True)
            zone = store.workspace_clock(conn, workspace_id).zone
        if ready is None:
            if newest is None:
                raise Conflict(
                    "no lead-score model yet: train one first (POST /api/v1/insights/leadscore/train)"
                )
            reasons = "; ".join(newest["card"].get("reasons", [])) or "insufficient data"
            raise Conflict(f"no lead score: the data is too thin ({reasons})")
        return ready, zone

    def scores(
        self,
        principal: Principal,
        *,
        since: datetime,
        until: datetime,
        limit: int = 100,
        cursor: str | None = None,
        min_score: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Scores of the workspace's scans in [since, until), newest first (one page)."""
        require(principal, Role.VIEWER, "reading lead scores")
        if until <= since:
            raise Invalid("must be after from", field="to")
        record, zone = self._model(principal.workspace_id)
        model = record["model"]
        items: list[dict[str, Any]] = []
        before = cursor
        with self.db.read() as conn:
            while len(items) < limit:
                rows = list(
                    store.lead_rows(
                        conn,
                        principal.workspace_id,
                        since,
                        until,
                        limit=limit,
                        labels=False,
                        before_id=before,
                    )
                )
                for row in rows:
                    if len(items) >= limit:
                        return items, before
                    s = leadscore.score(model, _features(row, zone))
                    if s.score >= min_score:
                        items.append(self._item(row, s, record["id"]))
                    before = row.id
                if len(rows) < limit:
                    return items, None
        return items, before

    @staticmethod
    def _item(row: Any, s: leadscore.Score, model_id: int) -> dict[str, Any]:
        return {
            "scan_id": row.id,
            "ts": row.ts,
            "campaign_id": row.campaign_id,
            "score": s.score,
            "probability": round(s.probability, 6),
            "model_id": model_id,
        }

    def score_scan(self, principal: Principal, scan_id: str) -> dict[str, Any]:
        """One scan's score."""
        require(principal, Role.VIEWER, "reading lead scores")
        record, zone = self._model(principal.workspace_id)
        with self.db.read() as conn:
            row = store.lead_row(conn, principal.workspace_id, scan_id)
        if row is None:
            raise NotFound(f"scan {scan_id!r} does not exist", field="scan_id")
        if row.is_bot:
            raise Conflict(
                "this scan was flagged as a bot or link preview: it has no lead score", field="scan_id"
            )
        return self._item(row, leadscore.score(record["model"], _features(row, zone)), record["id"])
