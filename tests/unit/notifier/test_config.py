from pathlib import Path

import pytest
from switchboard.common.config import ConfigError, Secrets
from switchboard.notifier.bootstrap import apply_overrides
from switchboard.notifier.config import NotifierConfig, load_notifier_config
from switchboard.notifier.settings import NotifierSettings

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("profile", ["default", "demo"])
def test_shipped_configs_load_and_route_every_level(profile):
    config = load_notifier_config(REPO / "config" / profile)
    assert config.escalation_routing["default"][1]
    assert {"sms", "whatsapp", "vk", "telegram"} <= set(config.customer_channels)


def test_demo_overrides_move_urls_to_the_running_demo_inbox():
    config = load_notifier_config(REPO / "config" / "demo")
    secrets = Secrets({"global": {"slack_ops_webhook_url": "http://127.0.0.1:8025/slack/ops"}})
    settings = NotifierSettings(demo_inbox_http="http://127.0.0.1:18025", demo_inbox_smtp_port=12525,
                                public_base_url="http://127.0.0.1:18080")
    config, secrets = apply_overrides(settings, config, secrets)
    assert config.customer_channels["telegram"].base_url == "http://127.0.0.1:18025/telegram"
    assert config.smtp.port == 12525 and config.public_base_url == "http://127.0.0.1:18080"
    assert secrets.global_("slack_ops_webhook_url") == "http://127.0.0.1:18025/slack/ops"


def test_routing_to_an_unknown_destination_is_rejected_with_its_name(tmp_path):
    (tmp_path / "notifier.yaml").write_text(
        "version: 1\ndestinations: [{id: a, type: slack, url: http://x}]\nescalation_routing: {default: {1: [b]}}\n")
    with pytest.raises(ConfigError, match=r"escalation_routing.default.1 names unknown destinations \['b'\]"):
        load_notifier_config(tmp_path)


def test_destination_without_target_and_unknown_channel_are_rejected():
    with pytest.raises(ValueError, match="needs url or url_secret"):
        NotifierConfig.model_validate({"destinations": [{"id": "a", "type": "webhook"}]})
    with pytest.raises(ValueError, match="unknown channels"):
        NotifierConfig.model_validate({"customer_channels": {"pigeon": {"api": "vk", "base_url": "http://x"}}})


def test_missing_version_is_rejected(tmp_path):
    (tmp_path / "notifier.yaml").write_text("destinations: []\n")
    with pytest.raises(ConfigError, match="version"):
        load_notifier_config(tmp_path)
