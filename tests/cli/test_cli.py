"""The command line: contracts from DESIGN.md §3, clear errors and non-zero exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanroute.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "SCANROUTE_DATABASE_URL": db_url,
        "SCANROUTE_DATA_DIR": str(tmp_path / "data"),
        "SCANROUTE_BASE_URL": "https://qr.example",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_keys_create_prints_only_the_key_via_console_script(env: dict[str, str]) -> None:
    exe = Path(sys.executable).with_name("scanroute")
    out = subprocess.run(
        [str(exe), "keys", "create", "--name", "x", "--role", "owner"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = out.stdout.strip()
    assert key.startswith("sr_")
    assert out.stdout == key + "\n"
    code, stdout, _ = invoke("workspaces", "list")
    assert code == 0
    assert stdout.startswith("default\t")


def test_workspace_codes_lifecycle(env: dict[str, str]) -> None:
    assert invoke("workspaces", "create", "cafe", "--name", "Café", "--currency", "eur")[0] == 0
    code, out, _ = invoke(
        "codes",
        "create",
        "https://example.com/menu",
        "--slug",
        "menu-1",
        "--workspace",
        "cafe",
        "--campaign",
        "spring",
        "--json",
    )
    assert code == 0, out
    assert json.loads(out) == {
        "slug": "menu-1",
        "short_url": "https://qr.example/menu-1",
        "destination": "https://example.com/menu",
    }
    code, out, _ = invoke("codes", "pause", "menu-1", "-w", "cafe")
    assert (code, out.strip()) == (0, "menu-1 is paused")
    code, out, _ = invoke("codes", "show", "menu-1", "-w", "cafe", "--json")
    assert json.loads(out)["status"] == "paused"
    code, out, _ = invoke("campaigns", "list", "-w", "cafe")
    assert "spring" in out
    assert "EUR" in out
    code, out, _ = invoke("codes", "list", "-w", "default")
    assert (code, out.strip()) == (0, "")


def test_errors_are_messages_with_nonzero_exit(env: dict[str, str]) -> None:
    code, _, err = invoke("codes", "create", "javascript:alert(1)")
    assert code == 1
    assert "destination" in err
    assert "Traceback" not in err
    code, _, err = invoke("codes", "show", "nope")
    assert code == 1
    assert "does not exist" in err
    code, _, err = invoke("workspaces", "create", "Bad Slug")
    assert code == 1
    assert "slug" in err
    code, _, err = invoke("keys", "create", "--name", "x", "--workspace", "missing")
    assert code == 1
    assert "missing" in err


def test_csv_import_is_all_or_nothing_and_round_trips(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "slug,destination,campaign,tags,utm_source\n"
        "tent-1,https://example.com/a,autumn,table_tent;berlin,qr\n"
        "tent-2,https://example.com/b,autumn,,qr\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "slug,destination\nok-1,https://example.com/a\nok-2,javascript:alert(1)\n", encoding="utf-8"
    )
    code, _, err = invoke("codes", "import", str(bad))
    assert code == 1
    assert "line 3" in err
    assert "destination" in err
    assert invoke("codes", "list")[1].strip() == ""

    dup = tmp_path / "dup.csv"
    dup.write_text(
        "slug,destination\nsame,https://example.com/a\nsame,https://example.com/b\n",
        encoding="utf-8",
    )
    code, _, err = invoke("codes", "import", str(dup))
    assert code == 1
    assert "line 3" in err
    assert "taken" in err

    code, out, _ = invoke("codes", "import", str(good))
    assert (code, out.strip()) == (0, "imported 2 codes")
    exported = tmp_path / "out.csv"
    assert invoke("codes", "export", "-o", str(exported))[0] == 0
    text = exported.read_text(encoding="utf-8")
    assert "tent-1,https://example.com/a,active,autumn,,,,table_tent;berlin" in text
    # importing the export into another workspace reproduces the codes (slugs are global, so rename)
    assert invoke("workspaces", "create", "copy")[0] == 0
    renamed = text.replace("tent-", "copy-")
    (tmp_path / "copy.csv").write_text(renamed, encoding="utf-8")
    code, out, err = invoke("codes", "import", str(tmp_path / "copy.csv"), "-w", "copy")
    assert code == 0, err
    assert sorted(invoke("codes", "list", "-w", "copy")[1].split()) == sorted(
        ["copy-1", "active", "https://example.com/a", "copy-2", "active", "https://example.com/b"]
    )


def test_unknown_csv_column_refused(env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("destination,colour\nhttps://example.com/,red\n", encoding="utf-8")
    code, _, err = invoke("codes", "import", str(f))
    assert code == 1
    assert "colour" in err


def test_workspace_show_update_delete(env: dict[str, str]) -> None:
    assert invoke("workspaces", "create", "shop")[0] == 0
    code, out, _ = invoke(
        "workspaces", "update", "shop", "--currency", "gbp", "--timezone", "Europe/London", "--json"
    )
    assert code == 0
    assert (json.loads(out)["currency"], json.loads(out)["timezone"]) == ("GBP", "Europe/London")
    code, out, _ = invoke("workspaces", "show", "shop")
    assert out.strip() == "shop\tshop\tGBP\tEurope/London"
    code, _, err = invoke("workspaces", "update", "shop", "--timezone", "Mars/Base")
    assert code == 1
    assert "timezone" in err
    code, _, err = invoke("workspaces", "delete", "shop")
    assert code == 1
    assert "--yes" in err
    assert invoke("workspaces", "delete", "shop", "--yes")[0] == 0
    code, _, err = invoke("workspaces", "show", "shop")
    assert code == 1
    assert "does not exist" in err
