"""In-store: one-time coupons issued on the scan path, redeemed once, and the POS CSV import with
its per-row report (matched, unmatched, duplicate, invalid), all-or-nothing by default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from scanroute.attribution.coupons import COUPON_ALPHABET, normalise_coupon
from scanroute.cli.main import app as cli
from scanroute.storage.schema import conversions, coupons
from tests.conftest import Tenant
from tests.conversions.conftest import World, ago
from tests.scan.conftest import SLACKBOT, Scanner

MAPPING = {
    "order_id": "Order",
    "occurred_at": "Time",
    "value": "Amount",
    "currency": "Currency",
    "coupon_code": "Coupon",
    "scan_id": "Scan",
    "store": "Store",
}


def count(world: World, table: Any = conversions) -> int:
    with world.ctr.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def upload(world: World, text: str | bytes, mapping: Any = MAPPING, **form: str) -> Any:
    data = text.encode() if isinstance(text, str) else text
    return world.client.post(
        "/api/v1/conversions/import",
        files={"file": ("pos.csv", data, "text/csv")},
        data={"mapping": mapping if isinstance(mapping, str) else json.dumps(mapping), **form},
        headers=world.tenant.auth(),
    )


@pytest.mark.anyio
async def test_coupons_are_issued_to_human_scans_and_stored(scanner: Scanner, tenant: Tenant) -> None:
    transport = httpx.ASGITransport(app=scanner.app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sr.test") as api:
        created = await api.post(
            "/api/v1/codes",
            json={"destination": "https://cafe.example/menu", "issue_coupon": True},
            headers=tenant.auth(),
        )
        assert created.status_code == 201
        assert created.json()["issue_coupon"] is True
    slug = created.json()["slug"]
    human = await scanner.scan(slug)
    bot = await scanner.scan(slug, ua=SLACKBOT)
    params = httpx.URL(human.headers["location"]).params
    coupon = params["sr_coupon"]
    assert len(coupon) == 8
    assert set(coupon) <= set(COUPON_ALPHABET)
    assert "sr_coupon" not in httpx.URL(bot.headers["location"]).params
    stored = scanner.stored()
    with scanner.ctr.db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(coupons))]
    assert [(r["code"], r["scan_id"]) for r in rows] == [(coupon, params["sr_sid"])]
    assert {s["id"] for s in stored} >= {params["sr_sid"]}


def test_a_coupon_is_redeemed_once(world: World) -> None:
    code = world.code(campaign="till")
    sid = world.scan(code, ago(minutes=30), coupon="HJKM2345")
    first = world.post({"coupon_code": "hjkm-2345", "type": "redemption", "value": "4.20", "order_id": "T1"})
    assert first.status_code == 201, first.text
    assert (first.json()["scan_id"], first.json()["coupon_code"], first.json()["campaign_id"]) == (
        sid,
        "HJKM2345",
        code.campaign_id,
    )
    again = world.post({"coupon_code": "HJKM2345", "type": "redemption", "order_id": "T2"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "coupon_code"
    assert world.post({"coupon_code": "ZZZZ2222", "type": "redemption"}).status_code == 422
    assert world.post({"coupon_code": "0OIL", "type": "redemption"}).status_code == 422
    other = world.scan(code, ago(minutes=20))
    clash = world.post({"coupon_code": "HJKM2345", "scan_id": other, "type": "redemption"})
    assert clash.json()["errors"][0]["field"] == "coupon_code"


def test_coupon_normalisation() -> None:
    assert normalise_coupon(" bcdf-2345 ") == "BCDF2345"
    assert normalise_coupon("BCDF234") is None
    assert normalise_coupon("BCDF234O") is None  # O is not in the alphabet


def _pos_file(world: World) -> tuple[str, dict[str, str]]:
    code = world.code(campaign="in-store")
    a = world.scan(code, ago(hours=3), coupon="BCDF2345")
    b = world.scan(code, ago(hours=2), coupon="GHJK6789")
    c = world.scan(code, ago(hours=2))
    recorded = world.post({"scan_id": c, "type": "purchase", "value": "9.00", "order_id": "S-5"})
    assert recorded.status_code == 201
    t = ago(hours=1).isoformat()
    lines = [
        "Order,Time,Amount,Currency,Coupon,Scan,Store",
        f"S-1,{t},12.50,USD,bcdf2345,,Berlin Mitte",  # matched by coupon
        f"S-2,{t},8.00,,GHJK-6789,,Berlin Mitte",  # matched by coupon (default currency)
        f"S-3,{t},5.00,USD,,{c},Kreuzberg",  # matched by scan id
        f"S-4,{t},3.00,USD,QQQQ7777,,Kreuzberg",  # coupon unknown: unmatched
        f"S-5,{t},9.00,USD,,{c},Kreuzberg",  # already recorded with other data: duplicate
        f"S-1,{t},12.50,USD,bcdf2345,,Berlin Mitte",  # repeats line 2: duplicate
        f"S-6,{t},abc,USD,,,Kreuzberg",  # invalid amount
        "",
        "S-7,yesterday,1.00,USD,,,Kreuzberg",  # invalid time
    ]
    return "\n".join(lines) + "\n", {"a": a, "b": b, "c": c}


def test_pos_import_reports_every_row_and_is_all_or_nothing(world: World) -> None:
    text, scans = _pos_file(world)
    before = count(world)
    r = upload(world, text)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["imported"] is False
    assert "all-or-nothing" in report["policy"]
    assert count(world) == before  # nothing half-imported
    statuses = {row["line"]: row["status"] for row in report["rows"]}
    assert statuses == {
        2: "matched",
        3: "matched",
        4: "matched",
        5: "unmatched",
        6: "duplicate",
        7: "duplicate",
        8: "invalid",
        10: "invalid",
    }
    reasons = {row["line"]: row["reason"] or "" for row in report["rows"]}
    assert reasons[8].startswith("value:")
    assert reasons[10].startswith("occurred_at:")
    assert "line 2" in reasons[7]
    assert report["counts"] == {"matched": 3, "unmatched": 1, "duplicate": 2, "invalid": 2}
    with world.ctr.db.read() as conn:
        assert conn.execute(select(func.count()).where(coupons.c.redeemed_at.is_not(None))).scalar_one() == 0

    dry = upload(world, text, dry_run="true", skip_invalid="true").json()
    assert (dry["imported"], dry["dry_run"]) == (False, True)
    assert count(world) == before

    done = upload(world, text, skip_invalid="true").json()
    assert done["imported"] is True
    assert count(world) == before + 4
    matched = {row["order_id"]: row for row in done["rows"] if row["status"] == "matched"}
    assert (matched["S-1"]["scan_id"], matched["S-2"]["scan_id"], matched["S-3"]["scan_id"]) == (
        scans["a"],
        scans["b"],
        scans["c"],
    )
    body = world.conversion(matched["S-1"]["conversion_id"])
    assert (body["source"], body["metadata"], body["value"]) == ("pos", {"store": "Berlin Mitte"}, "12.50")
    assert body["credits"]["last"][0]["scan_id"] == scans["a"]
    again = upload(world, text, skip_invalid="true").json()  # the same file again changes nothing
    assert again["counts"]["duplicate"] == 6
    assert count(world) == before + 4


def test_naive_pos_times_are_read_in_the_workspace_time_zone(world: World) -> None:
    r = world.client.patch(
        f"/api/v1/workspaces/{world.tenant.slug}",
        json={"timezone": "Europe/Berlin"},
        headers=world.tenant.auth(),
    )
    assert r.status_code == 200
    local = ago(days=1).astimezone().replace(tzinfo=None)
    report = upload(world, f"Order;Time;Amount;Coupon\nZ-1;{local:%Y-%m-%d %H:%M};2,50;\n", {
        "order_id": "Order", "occurred_at": "Time", "value": "Amount", "coupon_code": "Coupon"})  # fmt: skip
    assert report.status_code == 200, report.text
    (row,) = report.json()["rows"]
    assert row["status"] == "unmatched"
    body = world.conversion(row["conversion_id"])
    from zoneinfo import ZoneInfo

    expected = local.replace(second=0, microsecond=0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert body["occurred_at"].replace("Z", "+00:00") == expected.astimezone(ZoneInfo("UTC")).isoformat()
    assert body["value"] == "2.50"


@pytest.mark.parametrize(
    ("content", "mapping", "field"),
    [
        ("Order,Time,Amount\nA,2026-01-01T10:00:00Z,1\n".encode("utf-16"), MAPPING, "file"),
        (b"Order,Time,Amount,Coupon\nA,2026-01-01T10:00:00Z,1\xff,X\n", MAPPING, "file"),
        ("Order,Time,Amount,Currency,Coupon,Scan,Store\nA,2026-01-01T10:00:00Z,1\n", MAPPING, "file"),
        ("Order,Time\nA,2026-01-01T10:00:00Z\n", MAPPING, "file"),
        ("", MAPPING, "file"),
        ("Order,Time,Coupon\n", '{"order_id": "Order"', "mapping"),
        ("Order,Time,Coupon\n", {"order_id": "Order", "occurred_at": "Time"}, "mapping"),
        ("Order,Time,Coupon\n", {**MAPPING, "colour": "Red"}, "mapping"),
    ],
)
def test_malformed_files_import_nothing(world: World, content: str | bytes, mapping: Any, field: str) -> None:
    r = upload(world, content, mapping)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field
    assert count(world) == 0


def test_cli_import_and_friends(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCANROUTE_DATABASE_URL", world.ctr.settings.effective_database_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "cli"))
    text, _ = _pos_file(world)
    path = tmp_path / "pos.csv"
    path.write_text(text, encoding="utf-8")
    runner = CliRunner()
    pairs = ",".join(f"{k}={v}" for k, v in MAPPING.items())
    args = ["conversions", "import", str(path), "--mapping", pairs, "-w", world.tenant.slug]
    blocked = runner.invoke(cli, args)
    assert blocked.exit_code == 1
    assert "nothing was imported: 2 invalid row(s)" in blocked.stdout
    assert "line 8\tinvalid\tS-6\tvalue:" in blocked.stdout
    before = count(world)
    ok = runner.invoke(cli, [*args, "--skip-invalid", "--json"])
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["counts"]["matched"] == 3
    assert count(world) == before + 4
    listed = runner.invoke(cli, ["conversions", "list", "-w", world.tenant.slug, "--type", "purchase"])
    assert listed.exit_code == 0
    assert "S-1" in listed.stdout
    bad = runner.invoke(
        cli, ["conversions", "import", str(path), "--mapping", "order_id", "-w", world.tenant.slug]
    )
    assert bad.exit_code == 1
    assert "not field=Column" in bad.stderr
    fx = runner.invoke(cli, ["conversions", "fx-set", "EUR", "1.1", "-w", world.tenant.slug])
    assert fx.exit_code == 0
    assert fx.stdout.strip() == "1 EUR = 1.1 USD"
    refused = runner.invoke(cli, ["conversions", "fx-set", "EUR", "0", "-w", world.tenant.slug])
    assert refused.exit_code == 1
    assert "rate" in refused.stderr
    pixel = runner.invoke(cli, ["conversions", "pixel", "-w", world.tenant.slug])
    assert pixel.exit_code == 0
    assert "/c?currency=USD&order_id=A-1001&sid=" in pixel.stdout
    assert "&sig=" in pixel.stdout


def test_a_coupon_drawn_twice_keeps_its_first_scan(world: World, caplog: pytest.LogCaptureFixture) -> None:
    code = world.code()
    first = world.scan(code, ago(minutes=9), coupon="MNPQ2345")
    with caplog.at_level("WARNING", logger="scanroute.coupons"):
        world.scan(code, ago(minutes=8), coupon="MNPQ2345")
    assert "MNPQ2345" in caplog.text
    with world.ctr.db.read() as conn:
        assert (
            conn.execute(select(coupons.c.scan_id).where(coupons.c.code == "MNPQ2345")).scalar_one() == first
        )
