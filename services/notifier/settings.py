"""Notifier environment settings (SWITCHBOARD_*); everything else is in notifier.yaml."""
from pydantic import Field
from switchboard.common.settings import ServiceSettings, group_id_setting

DEMO_INBOX_DEFAULT = "http://127.0.0.1:8025"


class NotifierSettings(ServiceSettings):
    group_id: str = group_id_setting("notifier")  # prefixed by the topic prefix
    # Prefix for the notifier's MongoDB collections. nx-27017 (0.8.1) ignores the database name
    # (db1.x and db2.x are one collection), so tests sharing one server isolate by this prefix.
    collection_prefix: str = ""
    # Finished outbox entries are deleted this long after they finished (swept every
    # MONGO__SWEEP_INTERVAL_SECONDS). It is the window in which a repeated intent id is recognised
    # and not delivered again (like CONSUMER__DEDUPE_TTL_DAYS): keep it above any replay horizon.
    outbox_retention_days: float = Field(default=7.0, gt=0)
    # Overrides notifier.yaml public_base_url (the ingest origin CSAT links point at).
    public_base_url: str | None = None
    # Overrides notifier.yaml console_base_url (the console origin that links to conversations point at).
    console_base_url: str | None = None
    # Demo only (`make run`): where the demo inbox really listens. URLs in notifier.yaml and the
    # secrets file that start with http://127.0.0.1:8025 are rewritten to this origin.
    demo_inbox_http: str | None = None
    demo_inbox_smtp_port: int | None = None
