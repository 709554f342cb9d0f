"""The QR studio on the command line: images, static codes, CSV round trip, QA, templates, logos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanroute.cli.main import app
from tests.qr_api.conftest import decode, decode_png, decode_svg, make_png, pdf_pages

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCANROUTE_DATABASE_URL", db_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCANROUTE_BASE_URL", "https://qr.example")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_codes_qr_writes_every_format(env: Path) -> None:
    code, out, _ = run(
        "codes",
        "create",
        "https://example.com/menu",
        "--slug",
        "menu-1",
        "--design",
        '{"module_shape": "rounded"}',
    )
    assert code == 0, out
    for fmt in ("png", "svg", "pdf"):
        target = env / f"menu.{fmt}"
        code, _, err = run("codes", "qr", "menu-1", "-o", str(target))
        assert code == 0, err
        assert "encodes https://qr.example/menu-1" in err
        data = target.read_bytes()
        found = (
            decode_png(data)
            if fmt == "png"
            else decode_svg(data)
            if fmt == "svg"
            else decode(pdf_pages(data, 6)[0])
        )
        assert found == ["https://qr.example/menu-1"]
    code, _, err = run("codes", "qr", "menu-1", "-o", str(env / "x.png"), "--size-px", "256")
    assert code == 0
    assert decode_png((env / "x.png").read_bytes()) == ["https://qr.example/menu-1"]
    code, _, err = run("codes", "qr", "menu-1", "-o", str(env / "x.gif"))
    assert code == 1
    assert "--format" in err
    code, _, err = run("codes", "qr", "nope", "-o", str(env / "y.png"))
    assert code == 1
    assert "does not exist" in err


def test_static_codes_and_csv_round_trip(env: Path) -> None:
    code, out, err = run(
        "codes", "static", "wifi", '{"ssid": "Cafe", "password": "secret123"}', "--slug", "wifi-1", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["payload"] == "WIFI:T:WPA;S:Cafe;P:secret123;;"
    code, _, err = run("codes", "static", "wifi", '{"ssid": "Cafe", "password": "x"}')
    assert code == 1
    assert "payload.password" in err
    code, _, err = run("codes", "static", "text", "Hello, world", "--slug", "hello-1")
    assert code == 0, err
    code, _, _ = run("codes", "qr", "wifi-1", "-o", str(env / "wifi.png"))
    assert decode_png((env / "wifi.png").read_bytes()) == ["WIFI:T:WPA;S:Cafe;P:secret123;;"]

    exported = env / "codes.csv"
    assert run("codes", "export", "-o", str(exported))[0] == 0
    text = exported.read_text()
    assert "kind,payload_type,payload" in text.splitlines()[0]
    assert "static,wifi,WIFI:T:WPA;S:Cafe;P:secret123;;" in text
    # import the same rows into another workspace: the static codes come back identical
    renamed = text.replace("wifi-1", "wifi-2").replace("hello-1", "hello-2")
    (env / "again.csv").write_text(renamed)
    assert run("workspaces", "create", "second")[0] == 0
    code, out, err = run("codes", "import", str(env / "again.csv"), "--workspace", "second")
    assert code == 0, err
    code, out, _ = run("codes", "list", "--workspace", "second", "--json")
    items = {c["slug"]: c for c in json.loads(out)}
    assert items["wifi-2"]["kind"] == "static"
    assert items["wifi-2"]["payload_type"] == "wifi"
    assert items["wifi-2"]["payload"] == "WIFI:T:WPA;S:Cafe;P:secret123;;"
    assert items["hello-2"]["payload"] == "Hello, world"


def test_qr_check_preview_templates_and_logos(env: Path) -> None:
    code, out, _ = run("qr", "check", "--data", "https://example.com/", "--distance", "1", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"]
    assert report["scan_distance_m"] == 1.0
    assert report["min_print_width_mm"] > 100
    code, out, _ = run("qr", "check", "--data", "https://example.com/", "--print-width-mm", "10")
    assert code == 1
    assert "PROBLEMS" in out
    assert "print at least" in out

    (env / "logo.png").write_bytes(make_png())
    code, out, err = run("qr", "logos", "add", str(env / "logo.png"), "--json")
    assert code == 0, err
    logo_id = json.loads(out)["id"]
    design = json.dumps({"dark": "#1b4f9c", "logo": {"ref": str(logo_id)}, "logo_scale": 0.2})
    code, out, err = run("qr", "templates", "create", "Brand", "--design", design)
    assert code == 0, err
    code, _, err = run("codes", "create", "https://example.com/", "--slug", "brand-1", "--template", "Brand")
    assert code == 0, err
    code, _, err = run("qr", "preview", "--slug", "brand-1", "--format", "png", "-o", str(env / "p.png"))
    assert code == 0, err
    assert decode_png((env / "p.png").read_bytes()) == ["https://qr.example/brand-1"]
    code, _, err = run("qr", "logos", "delete", str(logo_id))
    assert code == 1
    assert "template Brand" in err
    code, out, _ = run("qr", "templates", "list")
    assert out.startswith("1\tBrand\t")
