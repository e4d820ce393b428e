"""Versioned YAML configuration (mounted from a ConfigMap) and the secrets file (from a Secret)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
SUPPORTED_VERSIONS = {1}


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message names the file and the field."""


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (check SWITCHBOARD_CONFIG_DIR)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def load_config(path: Path, model: type[Model]) -> Model:
    data = load_yaml(path)
    version = data.pop("version", None)
    if version not in SUPPORTED_VERSIONS:
        raise ConfigError(f"{path}: `version` must be one of {sorted(SUPPORTED_VERSIONS)}, got {version!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


class Secrets:
    """`brands: {<brand_id>: {name: value}}` and `global: {name: value}` from SWITCHBOARD_SECRETS_FILE."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self._brands: dict[str, dict[str, Any]] = data.get("brands") or {}
        self._global: dict[str, Any] = data.get("global") or {}

    @classmethod
    def load(cls, path: Path | None) -> Secrets:
        return cls(load_yaml(path) if path else None)

    def brands(self) -> list[str]:
        return sorted(self._brands)

    def has_brand(self, brand_id: str) -> bool:
        return brand_id in self._brands

    def brand(self, brand_id: str, name: str, default: Any = None) -> Any:
        return (self._brands.get(brand_id) or {}).get(name, default)

    def global_(self, name: str, default: Any = None) -> Any:
        return self._global.get(name, default)
