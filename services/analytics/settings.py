"""Settings of the analytics service (env prefix SWITCHBOARD_, nested with __)."""

from pydantic import Field
from switchboard.common.settings import ServiceSettings, group_id_setting


class AnalyticsSettings(ServiceSettings):
    # Consumer group over conversations, sla, escalations and deliveries (prefixed by the topic prefix).
    group_id: str = group_id_setting("analytics")
    # Concurrent conversations one agent is expected to handle, for switchboard_agent_occupancy_ratio.
    agent_capacity: int = Field(default=5, ge=1)
    # "At risk": a running SLA clock with less than this share of its budget left.
    at_risk_fraction: float = Field(default=0.25, gt=0, lt=1)
    # Cardinality bounds: distinct brand / queue label values before new ones read "other".
    max_brands: int = Field(default=200, ge=1)
    max_queues: int = Field(default=100, ge=1)
    # With several replicas, the owner of conversations partition 0 reports the agent gauges and
    # reads the other partitions' assigned conversations from MongoDB this often.
    agent_tally_seconds: float = Field(default=5.0, gt=0)
    # How often each owned partition's changed conversations and offsets are written to MongoDB (and
    # the records they include counted): also the most a kill -9 makes the next owner read again.
    checkpoint_seconds: float = Field(default=2.0, gt=0)
    # Chunk documents per partition holding its open conversations (analytics_open_conversations): a
    # checkpoint writes at most this many per partition. Changing it rewrites each partition once.
    projection_chunks: int = Field(default=16, ge=1, le=1024)
