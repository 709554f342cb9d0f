"""The one typed settings object, read from ``SCANROUTE_*`` environment variables.

Secrets may also come from files: ``SCANROUTE_SECRET_KEY_FILE=/run/secrets/key`` sets
``secret_key`` from that file's content. Every field is documented in ``docs/settings.md``
(a test keeps the two in step).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

StrList = Annotated[list[str], NoDecode]
SECRET_FIELDS = ("secret_key", "database_url", "redis_url")


class Settings(BaseSettings):
    """Runtime configuration. Construct with ``Settings()`` to read the environment."""

    model_config = SettingsConfigDict(env_prefix="SCANROUTE_", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Directory for the SQLite file, spool and snapshots.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; unset = SQLite file `scanroute.db` under data_dir."
    )
    redis_url: str | None = Field(None, description="Redis URL; unset = embedded mode (no Redis).")
    redis_prefix: str = Field(
        "scanroute", min_length=1, max_length=40, description="Prefix of every Redis key and channel."
    )
    base_url: str | None = Field(
        None,
        description="Public base URL encoded in QR images; default http://{host}:{port} of serve.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key for signing sessions and pixels; generated and kept under data_dir if unset.",
    )
    host: str = Field("127.0.0.1", description="Default bind address of `scanroute serve`.")
    port: int = Field(8080, ge=1, le=65535, description="Default port of `scanroute serve`.")
    workers: int = Field(1, ge=1, le=64, description="Default number of server worker processes.")
    slug_length: int = Field(7, ge=4, le=32, description="Length of generated random slugs.")
    default_currency: str = Field(
        "USD", min_length=3, max_length=3, description="Reporting currency of new workspaces."
    )
    default_timezone: str = Field("UTC", description="Time zone of new workspaces (IANA name).")
    route_cache_size: int = Field(
        10_000, ge=16, description="Codes kept compiled in each worker's route cache."
    )
    agent_cache_size: int = Field(
        4_096, ge=16, description="User-agent parses and bot verdicts cached per worker."
    )
    trusted_proxies: StrList = Field(
        default_factory=list,
        description="CIDRs of reverse proxies whose X-Forwarded-For / Forwarded headers are believed.",
    )
    excluded_networks: StrList = Field(
        default_factory=list,
        description="CIDRs whose scans are redirected but never recorded (e.g. office).",
    )
    opt_out_param: str = Field("sr_optout", description="Query parameter that opts a scan out of tracking.")
    geoip_mmdb: Path | None = Field(
        None,
        description="Optional MaxMind/DB-IP .mmdb file for region, city and ASN (country ships built in).",
    )
    extra_bot_patterns: StrList = Field(
        default_factory=lambda: ["Google-Safety"],
        description="Extra user-agent substrings flagged as link scanners.",
    )
    spool_fsync_interval: float = Field(
        0.2, ge=0, description="Seconds between fsyncs of the scan spool (0 = fsync every write)."
    )
    spool_max_bytes: int = Field(
        1 << 30,
        ge=1 << 20,
        description="Spool size that raises the alarm metric and log (scans are never dropped).",
    )
    drain_interval: float = Field(0.25, gt=0, description="Seconds between drainer batches.")
    drain_batch: int = Field(5_000, ge=1, description="Maximum scans written per drainer batch.")
    drain_stop_timeout: float = Field(
        300.0,
        gt=0,
        description="Longest `scanroute serve` waits at shutdown for its drainer process to store the "
        "spool's backlog; it stops sooner when the drainer makes no progress for 20 s or on a second "
        "Ctrl-C. Scans not stored by then stay in the spool and are stored at the next start.",
    )
    drainer: Literal["worker", "process"] = Field(
        "worker",
        description="Who stores spooled scans: a thread of each worker, or one drainer process "
        "(what `scanroute serve` sets for its workers unless this is set to `worker`).",
    )
    snapshot_interval: float = Field(
        30.0, gt=0, description="Seconds between last-known-good route snapshots written to disk."
    )
    log_format: Literal["text", "json"] = Field("text", description="Log line format.")
    log_level: str = Field("INFO", description="Python logging level name.")
    login_rate_limit: int = Field(10, ge=1, description="Failed logins allowed per address per 15 minutes.")
    lead_dedupe_hours: int = Field(
        24, ge=0, le=24 * 365, description="Window in which a customer's repeated lead/signup counts once."
    )
    jobs_enabled: bool = Field(
        True, description="Run scheduled jobs (anomaly scan, lead-score retraining) in the server workers."
    )

    @field_validator("trusted_proxies", "excluded_networks", "extra_bot_patterns", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        """Accept comma-separated strings as well as JSON lists from the environment."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("default_currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'scanroute.db').resolve()}"

    def public_base_url(self, host: str | None = None, port: int | None = None) -> str:
        """Base URL for short links and QR images (no trailing slash)."""
        if self.base_url:
            return self.base_url.rstrip("/")
        shown = host or self.host
        if shown in ("0.0.0.0", "::"):  # noqa: S104 - display only
            shown = "127.0.0.1"
        return f"http://{shown}:{port or self.port}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, honouring ``SCANROUTE_<NAME>_FILE`` for secrets."""
    for name in SECRET_FIELDS:
        env = f"SCANROUTE_{name.upper()}_FILE"
        path = os.environ.get(env)
        if path and name not in overrides:
            overrides[name] = Path(path).read_text(encoding="utf-8").strip()
    return Settings(**overrides)
