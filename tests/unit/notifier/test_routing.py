from switchboard.notifier.domain.routing import escalation_destinations

ROUTING = {"default": {1: ["slack-ops"], 2: ["slack-ops", "leads-mail"]}, "acme": {1: ["acme-hook"], 3: ["acme-vp"]}}


def test_explicit_destinations_win():
    assert escalation_destinations("acme", 1, ["x", "x", "y"], ROUTING) == ["x", "y"]


def test_brand_routing_then_default():
    assert escalation_destinations("acme", 1, [], ROUTING) == ["acme-hook"]
    assert escalation_destinations("other", 2, [], ROUTING) == ["slack-ops", "leads-mail"]


def test_deeper_level_than_configured_uses_highest_configured_level():
    assert escalation_destinations("other", 5, [], ROUTING) == ["slack-ops", "leads-mail"]
    assert escalation_destinations("acme", 4, [], ROUTING) == ["acme-vp"]


def test_no_routing_means_no_destinations():
    assert escalation_destinations("x", 1, [], {}) == []
