"""``scanroute demo --scans``, ``analytics summary`` and ``analytics rebuild`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from scanroute.cli.main import app
from scanroute.storage.db import Database
from scanroute.storage.schema import rollup_day_codes, scans

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SCANROUTE_DATABASE_URL", db_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "data"))
    return db_url


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_demo_history_summary_and_rebuild(env: str) -> None:
    code, out, err = invoke("demo", "--scans", "3000", "--days", "14", "--seed", "3")
    assert code == 0, err
    assert "loaded 3000 scans" in out
    assert "api key: sr_" in out
    assert out.count("injected anomaly") == 2
    db = Database(env)
    with db.read() as conn:
        humans = conn.execute(select(func.count()).where(scans.c.is_bot.is_(False))).scalar_one()
    code, out, err = invoke("analytics", "summary", "-w", "demo", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["scans"] == humans  # the default window (30 days) covers the 14 days of history
    assert body["context"]["workspace"] == "demo"
    assert float(body["cost"]) > 0  # the demo campaigns and placements cost money
    with db.write() as conn:
        conn.execute(delete(rollup_day_codes))
    assert json.loads(invoke("analytics", "summary", "-w", "demo", "--json")[1])["scans"] == 0
    code, out, err = invoke("analytics", "rebuild", "-w", "demo")
    assert code == 0, err
    assert "rebuilt" in out
    assert json.loads(invoke("analytics", "summary", "-w", "demo", "--json")[1])["scans"] == humans
    code, _, err = invoke("demo", "--scans", "10")
    assert code == 1
    assert "already has scans" in err
    db.dispose()


def test_rebuild_refuses_a_reversed_range(env: str) -> None:
    code, _, err = invoke("analytics", "rebuild", "--from", "2026-02-02", "--to", "2026-02-01")
    assert code == 1
    assert "--to" in err
    code, out, _ = invoke("analytics", "summary", "--from", "2026-02-01", "--to", "2026-02-03")
    assert code == 0
    assert "scans" in out
