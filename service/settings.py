"""Runtime configuration, read once from the environment (12-factor, as ECS task definitions set it)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Every knob of the service. Names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # The URL carries no password in production: the password comes from Secrets Manager through
    # the task definition's `secrets` as DATABASE_PASSWORD, so the URL may sit in plain environment.
    database_url: str = Field(
        default="sqlite:///./service.db",
        description="SQLAlchemy URL; SQLite is the embedded default, PostgreSQL the production database",
    )
    database_password: SecretStr | None = Field(
        default=None, description="Injected into DATABASE_URL; set from a secret, never in plain config"
    )
    app_version: str = Field(default="dev", min_length=1, max_length=128)
    deployment_id: str | None = Field(default=None, description="The CodeDeploy deployment that started us")
    log_level: LogLevel = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    drain_seconds: float = Field(
        default=10.0,
        ge=0,
        le=900,
        description="After SIGTERM: serve on, /ready = 503, this long so the load balancer deregisters us",
    )
    shutdown_grace_seconds: float = Field(
        default=20.0,
        ge=0,
        le=900,
        description="After the drain: how long requests in flight may take to finish",
    )
    readiness_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, description="Upper bound on the whole /ready check"
    )
    readiness_reuse_seconds: float = Field(
        default=1.0,
        ge=0,
        le=30,
        description="How long one /ready answer is reused (concurrent probes always share one round of checks)",
    )
    ready_dependencies: list[str] = Field(
        default_factory=list,
        description='Extra readiness checks, JSON list of "tcp://host:port" or "http(s)://..." URLs',
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _parse_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a SQLAlchemy database URL ({exc})") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")
        return value

    @field_validator("ready_dependencies")
    @classmethod
    def _check_dependencies(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.startswith(("tcp://", "http://", "https://")):
                raise ValueError(f"{item!r} must start with tcp://, http:// or https://")
        return value

    @property
    def sqlalchemy_url(self) -> URL:
        """The database URL with the secret password filled in, and psycopg 3 as the PostgreSQL driver."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        if self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url

    @property
    def safe_database_url(self) -> str:
        """For logs and error messages: never the password."""
        return self.sqlalchemy_url.render_as_string(hide_password=True)


class ConfigurationError(Exception):
    """Settings that cannot work; the message says which variable and why."""


# A URL may embed a password: errors about these never echo the value back.
_SENSITIVE_FIELDS = {"database_url", "database_password"}


def describe_validation_error(exc: ValidationError) -> str:
    lines = ["Invalid configuration:"]
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        shown = "" if field in _SENSITIVE_FIELDS else f" (got {error.get('input')!r})"
        lines.append(f"  {field.upper() or '(settings)'}: {error['msg']}{shown}")
    lines.append("Fix the environment variables above and start again.")
    return "\n".join(lines)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
