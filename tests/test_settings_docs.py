"""Every setting is documented in docs/settings.md with its environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanroute.settings import Settings, load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`SCANROUTE_{name.upper()}`" not in text]
    assert missing == []


def test_documented_settings_exist() -> None:
    import re

    text = DOC.read_text(encoding="utf-8")
    named = {n for n in re.findall(r"`SCANROUTE_([A-Z_]+?)(?:_FILE)?`", text) if not n.startswith("TEST_")}
    assert named - {n.upper() for n in Settings.model_fields} == set()


def test_env_and_secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SCANROUTE_SECRET_KEY_FILE", str(secret))
    monkeypatch.setenv("SCANROUTE_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.0.0/16")
    monkeypatch.setenv("SCANROUTE_PORT", "9090")
    settings = load_settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "s3cret"
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.0.0/16"]
    assert settings.port == 9090
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.public_base_url() == "http://127.0.0.1:9090"
