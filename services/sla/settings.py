"""Settings of the SLA service (env prefix SWITCHBOARD_, nested with __)."""
from pydantic import Field, SecretStr
from switchboard.common.settings import ServiceSettings, group_id_setting


class SlaSettings(ServiceSettings):
    # Consumer group on the conversations topic; the partitions it owns decide which timers load.
    group_id: str = group_id_setting("sla")
    # Policy file inside SWITCHBOARD_CONFIG_DIR.
    policy_file: str = "sla.yaml"
    # Timers fired per scheduler round (one Kafka drain + one MongoDB bulk_write per round).
    fire_batch_size: int = Field(default=1000, ge=1)
    # SLA state of a resolved conversation is kept this long (a reopen within it resumes the clocks).
    resolved_state_retention_days: int = Field(default=90, ge=1)
    # When set, the read API (/v1/brands/...) requires `Authorization: Bearer <token>`.
    read_api_token: SecretStr | None = None
