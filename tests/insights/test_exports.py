"""Exports: CSV and Parquet of every kind, streamed in batches, one workspace, no network address."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from typer.testing import CliRunner

from scanroute.bootstrap import Container
from scanroute.cli.main import app as cli
from scanroute.domain.workspace import Role
from scanroute.exports import stream
from scanroute.storage.schema import attribution_credits
from tests.conftest import Tenant
from tests.insights.conftest import add_conversion, event, make_code, store

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def seed(ctr: Container, tenant: Tenant, other: Tenant, n: int = 300) -> list[str]:
    code = make_code(ctr, tenant.workspace_id, "exp")
    theirs = make_code(ctr, other.workspace_id, "theirs")
    mine = [
        event(tenant.workspace_id, code, T0 + timedelta(minutes=10 * i), bot=i % 10 == 0) for i in range(n)
    ]
    store(ctr, mine)
    store(ctr, [event(other.workspace_id, theirs, T0 + timedelta(minutes=10 * i)) for i in range(50)])
    for i in (1, 2, 3):
        cid = add_conversion(
            ctr, tenant.workspace_id, mine[i].id, T0 + timedelta(hours=i), value_minor=1000 * i
        )
        with ctr.db.write() as conn:
            conn.execute(
                insert(attribution_credits).values(
                    conversion_id=cid, model="last", scan_id=mine[i].id, workspace_id=tenant.workspace_id,
                    credit_ppm=1_000_000, value_minor=1000 * i, code_id=code, touch_at=T0,
                    converted_at=T0 + timedelta(hours=i),
                )
            )  # fmt: skip
    add_conversion(ctr, other.workspace_id, None, T0)
    return [e.id for e in mine]


def read_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_csv_and_parquet_of_every_kind(
    client: TestClient, ctr: Container, tenant: Tenant, other: Tenant
) -> None:
    ids = seed(ctr, tenant, other)
    hourly = len({(i // 6, i % 10 == 0) for i in range(300)})  # (hour, bot) rows of 6 scans an hour
    expected = {"scans": 300, "conversions": 3, "attribution": 3, "rollups": hourly}
    for kind, count in expected.items():
        url = f"/api/v1/exports/{kind}?from=2026-03-01&to=2026-03-10"
        r = client.get(url, headers=tenant.auth(Role.VIEWER))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert f'filename="{kind}-20260301T000000Z-20260311T000000Z.csv"' in r.headers["content-disposition"]
        rows = read_csv(r.content)
        assert list(rows[0]) == stream.column_names(kind)
        assert len(rows) == count, kind
        p = client.get(url + "&format=parquet", headers=tenant.auth(Role.VIEWER))
        assert p.headers["content-type"] == "application/vnd.apache.parquet"
        table = pq.read_table(io.BytesIO(p.content))
        assert table.schema == stream.arrow_schema(kind)
        assert table.num_rows == count
    scans = read_csv(
        client.get("/api/v1/exports/scans?from=2026-03-01&to=2026-03-10", headers=tenant.auth()).content
    )
    assert "ip_net" not in scans[0]
    assert [r["id"] for r in scans] == ids  # time order, only this workspace
    assert scans[0]["is_bot"] == "true"
    assert scans[1]["is_bot"] == "false"
    assert scans[0]["ts"] == "2026-03-01T00:00:00+00:00"
    url = "/api/v1/exports/scans?from=2026-03-01&to=2026-03-10&format=parquet"
    table = pq.read_table(io.BytesIO(client.get(url, headers=tenant.auth()).content))
    assert table.column("id").to_pylist() == ids
    assert table.column("ts").to_pylist()[0] == T0
    assert table.column("is_bot").to_pylist()[:2] == [True, False]


def test_the_range_is_half_open_and_in_the_workspace_time_zone(
    client: TestClient, ctr: Container, tenant: Tenant, other: Tenant
) -> None:
    seed(ctr, tenant, other)
    one_hour = client.get(
        "/api/v1/exports/scans?from=2026-03-01T01:00:00Z&to=2026-03-01T02:00:00Z", headers=tenant.auth()
    )
    assert len(read_csv(one_hour.content)) == 6  # 01:00, 01:10 … 01:50
    day = client.get("/api/v1/exports/scans?from=2026-03-01&to=2026-03-01", headers=tenant.auth())
    assert len(read_csv(day.content)) == 144  # the whole (UTC) day, 'to' included


def test_exports_are_streamed_in_batches(
    ctr: Container, tenant: Tenant, other: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(ctr, tenant, other, n=1000)
    monkeypatch.setattr(stream, "BATCH", 100)
    start, end = T0, T0 + timedelta(days=30)
    chunks = list(stream.csv_chunks(ctr.db, "scans", tenant.workspace_id, start, end))
    assert len(chunks) == 1 + 10  # the header, then one chunk per batch of 100 rows
    assert max(len(c) for c in chunks) < sum(len(c) for c in chunks) / 5
    parts = list(stream.parquet_chunks(ctr.db, "scans", tenant.workspace_id, start, end))
    assert len(parts) >= 10  # bytes leave after every row group
    parquet = pq.ParquetFile(io.BytesIO(b"".join(parts)))
    assert parquet.metadata.num_row_groups == 10
    assert parquet.metadata.num_rows == 1000


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/exports/visitors", "kind"),
        ("/api/v1/exports/scans?format=xml", "format"),
        ("/api/v1/exports/scans?from=March", "from"),
        ("/api/v1/exports/scans?from=2026-03-02&to=2026-03-01", "to"),
    ],
)
def test_bad_input_names_the_field(client: TestClient, tenant: Tenant, path: str, field: str) -> None:
    r = client.get(path, headers=tenant.auth())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.json()["detail"]


def test_cli_export(
    ctr: Container,
    db_url: str,
    tenant: Tenant,
    other: Tenant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(ctr, tenant, other)
    monkeypatch.setenv("SCANROUTE_DATABASE_URL", db_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    out = tmp_path / "scans.parquet"
    args = ["export", "scans", "-w", "acme", "--from", "2026-03-01", "--to", "2026-03-10"]
    result = runner.invoke(cli, [*args, "--format", "parquet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_rows == 300
    result = runner.invoke(cli, args)
    assert result.exit_code == 0
    assert len(read_csv(result.stdout_bytes)) == 300
    result = runner.invoke(cli, [*args, "--format", "parquet"])
    assert result.exit_code != 0
    assert "output" in result.stderr
