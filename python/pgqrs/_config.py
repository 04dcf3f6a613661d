"""Config: every field of SPEC §1 as a read/write property (dsn is read-only)."""

from __future__ import annotations

from typing import Any, Optional, Union

from . import _pgqrs
from ._errors import ConfigError
from ._records import DurabilityMode

__all__ = ["Config"]


class _Field:
    """A property backed by the native config; a value of the wrong type or range is a
    ConfigError naming the field (never silently replaced)."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        return getattr(obj._native, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        if isinstance(value, bool) and self.name != "sqlite_use_wal":
            raise ConfigError(f"{self.name}: expected a number, got {value!r}")
        try:
            setattr(obj._native, self.name, value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{self.name}: invalid value {value!r}") from None


class Config:
    """Connection and runtime configuration (SPEC §1). ``Config(dsn)`` starts from the
    defaults; ``Config.load()`` layers ./pgqrs.yaml, PGQRS_* environment and
    PGQRS_CONFIG_FILE as the C++ Config::load does. Validated when connecting."""

    def __init__(self, dsn: str, schema: Optional[str] = None,
                 max_connections: Optional[int] = None) -> None:
        if not isinstance(dsn, str):
            raise ConfigError(f"dsn: expected a string, got {dsn!r}")
        self._native = _pgqrs.Config.from_dsn(dsn)
        if schema is not None:
            self.schema = schema
        if max_connections is not None:
            self.max_connections = max_connections

    @classmethod
    def from_dsn(cls, dsn: str) -> "Config":
        return cls(dsn)

    @classmethod
    def load(cls, path: Optional[str] = None) -> "Config":
        cfg = cls.__new__(cls)
        cfg._native = _pgqrs.Config.load(None if path is None else str(path))
        return cfg

    @classmethod
    def _wrap(cls, native: Any) -> "Config":
        cfg = cls.__new__(cls)
        cfg._native = native
        return cfg

    @property
    def dsn(self) -> str:
        return self._native.dsn

    schema = _Field("Postgres schema (must exist)")
    max_connections = _Field("connection pool size")
    connection_timeout_seconds = _Field("connect / pool-acquire timeout")
    connect_timeout_seconds = _Field("how long connect() keeps trying (0: connection timeout)")
    statement_timeout_seconds = _Field("Postgres: longest wait for one statement (0: connection timeout)")
    default_lock_time_seconds = _Field("default lease (visibility timeout)")
    default_max_batch_size = _Field("largest dequeue batch")
    max_read_ct = _Field("deliveries before a message is dead-lettered")
    heartbeat_interval_seconds = _Field("worker heartbeat period")
    poll_interval_ms = _Field("idle poll period")
    app_version = _Field("application version this process runs (\"\": unversioned)")
    max_payload_size_bytes = _Field("largest serialised payload")
    max_string_length = _Field("longest string value or key in a payload")
    max_object_depth = _Field("deepest nesting of objects/arrays in a payload")
    forbidden_keys = _Field("top-level keys a payload must not have")
    required_keys = _Field("top-level keys a payload must have")
    max_enqueue_per_second = _Field("enqueue rate limit (None = unlimited)")
    max_enqueue_burst = _Field("rate limit bucket size (None = ceil(rate))")
    sqlite_use_wal = _Field("SQLite WAL journal mode")

    @property
    def s3_mode(self) -> DurabilityMode:
        return DurabilityMode(self._native.s3_mode)

    @s3_mode.setter
    def s3_mode(self, value: Union[DurabilityMode, str]) -> None:
        raw = value.value if isinstance(value, DurabilityMode) else value
        if raw not in ("durable", "local"):
            raise ConfigError(f"s3_mode: expected DurabilityMode.Durable or .Local, got {value!r}")
        self._native.s3_mode = raw

    @property
    def s3_cache_dir(self) -> Optional[str]:
        return self._native.s3_cache_dir or None

    @s3_cache_dir.setter
    def s3_cache_dir(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"s3_cache_dir: cache dir cannot be empty (got {value!r})")
        self._native.s3_cache_dir = value

    def __repr__(self) -> str:
        return f"Config(dsn={self._native.redacted_dsn()!r}, schema={self.schema!r})"
