"""Serving settings, read from environment variables once at start-up."""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


def positive(env: Mapping[str, str], name: str, default, kind=int):
    """The variable as a number above 0 (``kind`` int or float), or ``default`` if unset."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        wanted = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name}={raw!r}: must be {wanted}") from None
    if not 0 < value < float("inf"):
        raise SettingsError(f"{name}={raw!r}: must be above 0")
    return value


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise SettingsError(f"{name}={raw!r}: must be true or false")


@dataclass(frozen=True)
class Settings:
    model_path: Path = Path("models/model.onnx")
    schema_path: Path = Path("models/schema.json")
    # Shown in every response; empty means "sha256 prefix of the model file".
    model_version: str = ""
    # The name the Open Inference Protocol (V2) routes answer to: /v2/models/<name>/...
    model_name: str = "{{ cookiecutter.project_slug }}"
    max_batch_rows: int = 1000
    max_body_bytes: int = 2_000_000
    # What one client may hold: the request line and headers, the seconds to
    # send them and then the body, and connections open at once (beyond it: 503).
    max_header_bytes: int = 16_384
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 200
    host: str = "127.0.0.1"
    port: int = 8000
    # Input drift: the training profile, and how many recent rows to compare with it.
    reference_profile_path: Path = Path("models/reference_profile.json")
    drift_tracking: bool = True
    drift_window_rows: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        return cls(
            model_path=Path(env.get("MODEL_PATH", cls.model_path)),
            schema_path=Path(env.get("SCHEMA_PATH", cls.schema_path)),
            model_version=env.get("MODEL_VERSION", ""),
            model_name=env.get("MODEL_NAME") or cls.model_name,
            max_batch_rows=positive(env, "MAX_BATCH_ROWS", cls.max_batch_rows),
            max_body_bytes=positive(env, "MAX_BODY_BYTES", cls.max_body_bytes),
            max_header_bytes=positive(env, "MAX_HEADER_BYTES", cls.max_header_bytes),
            header_timeout=positive(env, "HEADER_TIMEOUT_SECONDS", cls.header_timeout, float),
            body_timeout=positive(env, "BODY_TIMEOUT_SECONDS", cls.body_timeout, float),
            max_connections=positive(env, "MAX_CONNECTIONS", cls.max_connections),
            host=env.get("HOST", cls.host),
            port=positive(env, "PORT", cls.port),
            reference_profile_path=Path(
                env.get("REFERENCE_PROFILE_PATH", cls.reference_profile_path)),
            drift_tracking=boolean(env, "DRIFT_TRACKING", cls.drift_tracking),
            drift_window_rows=positive(env, "DRIFT_WINDOW_ROWS", cls.drift_window_rows),
        )
