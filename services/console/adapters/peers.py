"""HTTP clients of the services the console reads from (router, SLA) and acts through (ingest)."""
from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import quote

import httpx
from switchboard.common.config import Secrets
from switchboard.console import metrics


class PeerUnavailable(RuntimeError):
    """The peer did not answer, or answered 5xx: the page shows what it has and says what is missing."""


class ActionRefused(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_time(value) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _seg(value: str) -> str:
    return quote(value, safe="")


class _Reader:
    peer = "peer"

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str | None) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _get(self, path: str, params: dict | None = None) -> dict | None:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._client.get(self._base + path, params=params, headers=self._headers)
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{self.peer} read API not reachable ({type(exc).__name__})") from None
        finally:
            metrics.PEER_SECONDS.labels(self.peer, outcome).observe(time.perf_counter() - started)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise PeerUnavailable(f"{self.peer} read API answered {response.status_code}")
        return response.json()


class RouterReader(_Reader):
    peer = "router"

    async def conversation(self, brand_id: str, conversation_id: str) -> dict | None:
        data = await self._get(f"/v1/brands/{_seg(brand_id)}/conversations/{_seg(conversation_id)}")
        if data is not None:
            for message in data.get("messages") or []:
                message["at"] = parse_time(message.get("at"))
        return data

    async def customer(self, brand_id: str, customer_id: str) -> dict | None:
        return await self._get(f"/v1/brands/{_seg(brand_id)}/customers/{_seg(customer_id)}")

    async def queues(self, brand_id: str, limit: int = 100) -> list[dict]:
        data = await self._get(f"/v1/brands/{_seg(brand_id)}/queues", {"limit": limit})
        return (data or {}).get("queues") or []

    async def agents(self, brand_id: str) -> list[dict]:
        data = await self._get(f"/v1/brands/{_seg(brand_id)}/agents")
        return (data or {}).get("agents") or []


class SlaReader(_Reader):
    peer = "sla"

    async def clocks(self, brand_id: str, conversation_id: str) -> dict | None:
        return await self._get(f"/v1/brands/{_seg(brand_id)}/conversations/{_seg(conversation_id)}/sla")


class IngestAgentApi:
    """Every console action is an agent command through ingest, exactly like any other desk."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, secrets: Secrets) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._secrets = secrets

    def _key(self, brand_id: str) -> str:
        keys = self._secrets.brand(brand_id, "agent_api_keys") or []
        if isinstance(keys, str):
            keys = [keys]
        if not keys:
            raise ActionRefused(503, f"no agent API key for brand {brand_id} in the secrets file "
                                     "(brands.<brand>.agent_api_keys); ask an operator to add one")
        return str(keys[0])

    async def send(self, brand_id: str, path: str, body: dict, *, idempotency_key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self._key(brand_id)}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        url = f"{self._base}/v1/brands/{_seg(brand_id)}/agent/{path}"
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._client.post(url, json=body, headers=headers)
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            raise ActionRefused(502, f"ingest agent API not reachable ({type(exc).__name__}); try again") from None
        finally:
            metrics.PEER_SECONDS.labels("ingest", outcome).observe(time.perf_counter() - started)
        if response.status_code in (401, 403):
            # Not the viewer's fault: the console's own key is wrong. Never pass a 401 on to the browser.
            raise ActionRefused(502, f"ingest refused the console's agent API key for brand {brand_id}; ask an "
                                     "operator to check brands.<brand>.agent_api_keys in the secrets file")
        if response.status_code >= 300:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text
            status = response.status_code if response.status_code < 500 else 502
            raise ActionRefused(status, f"ingest refused the action: {message}")
        return response.json() if response.content else {}
