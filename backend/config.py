"""Settings, read from the environment (prefix ``DOORSTEP_``) and an optional ``.env`` file."""

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend.kit.client_ip import IPNetwork, parse_networks


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class StorageBackend(StrEnum):
    local = "local"
    s3 = "s3"


def _parse_host_list(value: object) -> object:
    """``"a.example, 10.0.0.5"`` -> ``("a.example", "10.0.0.5")`` (lower case); lists pass."""
    if isinstance(value, str):
        return tuple(h.strip().lower().strip("[]") for h in value.split(",") if h.strip())
    if isinstance(value, list | tuple):
        return tuple(str(h).strip().lower().strip("[]") for h in value if str(h).strip())
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DOORSTEP_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Environment = Environment.development
    database_url: str | None = None
    data_dir: Path = Path("./var")
    public_base_url: str = "http://localhost:8000"
    secret_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    log_level: str = "INFO"
    log_json: bool = True

    database_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    database_max_overflow: Annotated[int, Field(ge=0, le=200)] = 10
    database_connect_timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0

    storage: StorageBackend = StorageBackend.local
    s3_endpoint_url: str | None = None
    s3_bucket: str = "doorstep"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    scheduler_enabled: bool = True
    # Webhook hosts exempt from the SSRF rule (http allowed, private addresses allowed): exact
    # host names or IP literals as written in endpoint URLs, comma-separated.
    webhook_allowed_hosts: Annotated[
        tuple[str, ...], NoDecode, BeforeValidator(_parse_host_list)
    ] = ()

    max_body_bytes: Annotated[int, Field(ge=1024)] = 12 * 1024 * 1024

    access_token_ttl_s: Annotated[int, Field(ge=60, le=86_400)] = 15 * 60
    refresh_token_idle_days: Annotated[int, Field(ge=1, le=365)] = 30
    refresh_grace_s: Annotated[int, Field(ge=0, le=600)] = 30
    login_max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    login_lockout_base_s: Annotated[int, Field(ge=1, le=86_400)] = 60
    login_lockout_max_s: Annotated[int, Field(ge=1, le=86_400)] = 3600
    # Failed logins from one client address (an IPv6 /64) across all usernames; 0 turns it off.
    login_ip_max_failures: Annotated[int, Field(ge=0, le=100_000)] = 30
    # API keys' rate limits are counted in each process: with N replicas, N makes each enforce
    # its 1/N share of a key's limit (docs/integration.md, "Rate limits").
    api_key_rate_limit_replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    # Peers whose X-Forwarded-For is believed (addresses or CIDR networks, comma-separated).
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode, BeforeValidator(parse_networks)] = (
        parse_networks("127.0.0.1, ::1")
    )

    timezone: str = "Asia/Shanghai"
    # The language of a client that has no preference of its own (GET /api/v1/config).
    locale_default: Literal["zh-CN", "en"] = "zh-CN"
    geofence_default_radius_m: Annotated[int, Field(ge=20, le=2000)] = 150
    next_action_horizon_days: Annotated[int, Field(ge=1, le=30)] = 7

    cjk_font_path: Path | None = None

    @property
    def is_production(self) -> bool:
        return self.environment == Environment.production

    @cached_property
    def secret(self) -> bytes:
        """The server secret; outside production one is generated into the data dir once."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        if self.is_production:
            raise RuntimeError("DOORSTEP_SECRET_KEY must be set in production")
        return _load_or_create_secret(self.data_dir / "secret_key").encode()

    @property
    def public_base(self) -> str:
        return self.public_base_url.rstrip("/")


def _load_or_create_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value)
    tmp.chmod(0o600)
    tmp.replace(path)
    return path.read_text().strip()


def get_settings() -> Settings:
    return Settings()
