"""Loads template sources: package data (services/notifier/templates/<lang>.yaml), then optional
overrides from <config_dir>/notifier-templates/<lang>.yaml (a ConfigMap), template by template."""
from __future__ import annotations

import importlib.resources
from pathlib import Path

import yaml
from switchboard.common.config import ConfigError
from switchboard.notifier.domain.templates import TemplateCatalog


def _parse(name: str, text: str) -> tuple[str, dict]:
    data = yaml.safe_load(text) or {}
    if data.get("version") != 1:
        raise ConfigError(f"{name}: `version: 1` is required")
    language = data.get("language")
    templates = data.get("templates")
    if not language or not isinstance(templates, dict):
        raise ConfigError(f"{name}: needs `language` and a `templates` mapping")
    return str(language), templates


def load_template_sources(config_dir: Path | None = None) -> dict[str, dict[str, dict[str, str]]]:
    sources: dict[str, dict[str, dict[str, str]]] = {}
    package_dir = importlib.resources.files("switchboard.notifier") / "templates"
    for entry in sorted(package_dir.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            lang, templates = _parse(f"templates/{entry.name}", entry.read_text(encoding="utf-8"))
            sources.setdefault(lang, {}).update(templates)
    override_dir = Path(config_dir) / "notifier-templates" if config_dir else None
    if override_dir and override_dir.is_dir():
        for path in sorted(override_dir.glob("*.yaml")):
            lang, templates = _parse(str(path), path.read_text(encoding="utf-8"))
            sources.setdefault(lang, {}).update(templates)
    return sources


def load_catalog(config_dir: Path | None = None) -> TemplateCatalog:
    return TemplateCatalog(load_template_sources(config_dir))
