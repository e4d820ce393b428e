import switchboard.common.cloudevents  # noqa: F401  (registers every message type)
from google.protobuf import symbol_database
from switchboard.common.settings import ServiceSettings
from switchboard.common.topics import TopicNames, registry

# routing: the router's routing stage (same program, its own consumer group and Deployment)
SERVICES = {"ingest", "router", "contact", "routing", "sla", "notifier", "analytics", "console"}


def test_every_registry_topic_names_a_real_message_type_and_known_services():
    specs = registry()
    assert {"inbound", "orders", "orders_external", "agent_commands", "conversations", "sla", "escalations",
            "notifications", "deliveries"} <= specs.keys()
    for logical, spec in specs.items():
        if spec.message.startswith("switchboard."):
            symbol_database.Default().GetSymbol(spec.message)  # raises if the type does not exist
        assert set(spec.consumers) <= SERVICES, logical
        assert set(spec.producers) <= SERVICES | {"external"}, logical
        assert spec.partitions >= 1 and spec.retention_ms > 0


def test_data_flows_one_way_ingest_router_sla_notifier_analytics():
    # the console only reads
    order = ["external", "ingest", "router", "contact", "routing", "sla", "notifier", "analytics", "console"]
    for logical, spec in registry().items():
        for producer in spec.producers:
            for consumer in spec.consumers:
                assert order.index(producer) < order.index(consumer), f"{logical}: {producer} -> {consumer}"


def test_topic_names_carry_the_prefix_and_dlqs_mirror_their_topic():
    names = TopicNames("t1.")
    assert names.conversations == "t1.switchboard.conversations.v1"
    assert names.dlq("conversations") == "t1.switchboard.conversations.v1.dlq"
    all_names = [n for n, _ in names.all_topics()]
    assert len(all_names) == len(set(all_names)) == sum(2 if s.dlq else 1 for s in registry().values())


def test_settings_come_from_nested_environment_variables(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS", "kafka-0:9093")
    monkeypatch.setenv("SWITCHBOARD_KAFKA__IDEMPOTENT_PRODUCER", "true")
    monkeypatch.setenv("SWITCHBOARD_KAFKA__SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("SWITCHBOARD_MONGO__URI", "mongodb://user:pw@mongo:27017/")
    settings = ServiceSettings()
    assert settings.kafka.bootstrap_servers == "kafka-0:9093" and settings.kafka.idempotent_producer
    assert "s3cret" not in repr(settings) and "pw@" not in repr(settings)
