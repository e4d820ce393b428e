"""Reads the router's versioned YAML (routing.yaml, bot.yaml from SWITCHBOARD_CONFIG_DIR) and the
bot answer templates shipped with the package."""

from __future__ import annotations

from pathlib import Path

from switchboard.common.config import ConfigError, load_yaml
from switchboard.router.domain import config as domain_config

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "bot_answers.yaml"


def load_templates(path: Path = TEMPLATES) -> dict[str, dict[str, str]]:
    doc = load_yaml(path)
    templates = doc.get("templates")
    if doc.get("version") != 1 or not isinstance(templates, dict):
        raise ConfigError(f"{path}: needs `version: 1` and a `templates` mapping")
    missing = set(domain_config.SUPPORTED_LANGUAGES) - set(templates)
    if missing:
        raise ConfigError(f"{path}: templates missing for languages {sorted(missing)}")
    return templates


def load_router_config(config_dir: Path) -> domain_config.RouterConfig:
    routing_path, bot_path = Path(config_dir) / "routing.yaml", Path(config_dir) / "bot.yaml"
    try:
        routing = domain_config.parse_routing(load_yaml(routing_path), str(routing_path))
        bot = domain_config.parse_bot(load_yaml(bot_path), load_templates(), str(bot_path))
    except domain_config.ConfigError as exc:
        raise ConfigError(str(exc)) from None
    return domain_config.RouterConfig(routing=routing, bot=bot)
