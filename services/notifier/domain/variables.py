"""The variables every customer template can rely on (defaults make StrictUndefined safe)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence


def csat_links(public_base_url: str, brand_id: str, intent_id: str, low: int = 1, high: int = 5) -> list[dict]:
    base = public_base_url.rstrip("/")
    return [{"score": n, "url": f"{base}/v1/brands/{brand_id}/csat/{intent_id}?score={n}"}
            for n in range(low, high + 1)]


def template_variables(
    *,
    brand_name: str,
    customer_name: str,
    order_ids: Sequence[str],
    conversation_id: str,
    text: str = "",
    reply_subject: str = "",
    extra: Mapping[str, str] | None = None,
    csat: list[dict] | None = None,
    csat_range: tuple[int, int] = (1, 5),
) -> dict:
    variables: dict = {
        "brand_name": brand_name,
        "customer_name": customer_name,
        "order_ids": list(order_ids),
        "order_id": order_ids[0] if order_ids else "",
        "conversation_id": conversation_id,
        "text": text,
        "transcript": "",
        "reply_subject": reply_subject,
        "csat_links": csat or [],
        "csat_min": csat_range[0],
        "csat_max": csat_range[1],
        "position": "",
        "eta_minutes": "",
        "new_eta": "",
    }
    for key, value in (extra or {}).items():
        if key == "order_ids":
            variables["order_ids"] = [v.strip() for v in value.split(",") if v.strip()]
            variables["order_id"] = variables["order_ids"][0] if variables["order_ids"] else ""
        elif key == "eta_seconds" and value.strip().lstrip("-").isdigit():
            variables["eta_minutes"] = str(max(1, round(int(value) / 60)))
        else:
            variables[key] = value
    return variables
