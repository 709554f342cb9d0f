"""``scanroute jobs`` and the scheduler's switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanroute.bootstrap import Container, build
from scanroute.cli.main import app as cli
from scanroute.web.app import create_app
from tests.conftest import make_settings

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANROUTE_DATABASE_URL", db_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "data"))


def test_jobs_list_run_and_history(env: None) -> None:
    listed = runner.invoke(cli, ["jobs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    jobs = {j["name"]: j for j in json.loads(listed.stdout)}
    assert jobs["anomaly-scan"]["interval_hours"] == 24
    assert jobs["leadscore-retrain"]["interval_hours"] == 168
    assert jobs["anomaly-scan"]["last_status"] is None

    assert runner.invoke(cli, ["workspaces", "create", "cafe"]).exit_code == 0
    ran = runner.invoke(cli, ["jobs", "run", "leadscore-retrain", "--json"])
    assert ran.exit_code == 0, ran.output
    body = json.loads(ran.stdout)
    assert body["status"] == "ok"
    assert body["result"] == {"workspaces": 1, "ready": 0}  # no scans: nothing to learn from

    text = runner.invoke(cli, ["jobs", "list"]).stdout
    assert "leadscore-retrain\tevery 168 h\tlast: " in text
    assert " ok" in text
    history = json.loads(runner.invoke(cli, ["jobs", "history", "leadscore-retrain", "--json"]).stdout)
    assert [(h["name"], h["status"], h["trigger"]) for h in history] == [
        ("leadscore-retrain", "ok", "manual")
    ]

    unknown = runner.invoke(cli, ["jobs", "run", "coffee"])
    assert unknown.exit_code != 0
    assert "unknown job 'coffee'" in unknown.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("enabled", [True, False])
async def test_serve_starts_the_scheduler_unless_disabled(
    sqlite_url: str, tmp_path: Path, enabled: bool
) -> None:
    ctr: Container = build(make_settings(sqlite_url, tmp_path / "data", jobs_enabled=enabled))
    app = create_app(ctr)
    await app.start()
    try:
        assert ("scheduler" in ctr.extras) is enabled
    finally:
        await app.stop()
        ctr.close()
    assert "scheduler" not in ctr.extras


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
