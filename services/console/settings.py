"""Settings of the console (env prefix SWITCHBOARD_, nested with __)."""
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from switchboard.common.settings import ServiceSettings, group_id_setting


class AuthSettings(BaseModel):
    # password: users log in with the hashed passwords of console.yaml.
    # header: an auth proxy (oauth2-proxy / OIDC) authenticates and sets identity_header; only use it
    # when nothing but the proxy can reach the console.
    mode: Literal["password", "header"] = "password"
    identity_header: str = "X-Auth-Request-Email"


class ConsoleSettings(ServiceSettings):
    # Consumer group on conversations, sla and escalations (partition ownership, manual commits).
    group_id: str = group_id_setting("console")
    # Users, brands and roles inside SWITCHBOARD_CONFIG_DIR.
    console_file: str = "console.yaml"
    router_url: str = "http://127.0.0.1:8081"
    sla_url: str = "http://127.0.0.1:8082"
    ingest_url: str = "http://127.0.0.1:8080"
    # Sent as a bearer token to the router and SLA read APIs when set.
    read_api_token: SecretStr | None = None
    auth: AuthSettings = AuthSettings()
    # Signs session cookies and CSRF tokens. Set it (the same on every replica); without it each
    # process makes a random one and sessions do not survive a restart or cross replicas.
    session_secret: SecretStr | None = None
    session_ttl_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Send the session cookie only over HTTPS. On behind TLS (the chart's default); off for make run.
    cookie_secure: bool = False
    # How often each replica reads new activity for its live (SSE) subscribers.
    tail_interval_seconds: float = Field(default=0.25, gt=0, le=10)
    # Activity documents that only wake live pages (not shown in timelines) are kept this long.
    noise_ttl_hours: float = Field(default=24.0, gt=0)
    peer_timeout_seconds: float = Field(default=5.0, gt=0)
    # Seconds between SSE keep-alive comments (proxies close idle streams).
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)
    # Login throttling (password mode): failed logins allowed per username and per client address in
    # the window, then 429 until the oldest failure leaves it. In memory, per replica.
    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: float = Field(default=900.0, gt=0)
