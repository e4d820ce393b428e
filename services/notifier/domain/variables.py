"""The variables every customer template can rely on (defaults make StrictUndefined safe)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import quote


def _display_date(value: str) -> str:
    """ISO timestamps (as the SLA service sends them) shown as a plain date; anything else as is."""
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        return value


def csat_links(public_base_url: str, brand_id: str, intent_id: str, low: int = 1, high: int = 5,
               conversation_id: str = "") -> list[dict]:
    """One answer link per score. conversation_id rides along so ingest's CsatAnswered names the
    conversation even where the router cannot map the survey intent back to it."""
    base = public_base_url.rstrip("/")
    extra = f"&conversation_id={quote(conversation_id, safe='')}" if conversation_id else ""
    return [{"score": n, "url": f"{base}/v1/brands/{quote(brand_id, safe='')}/csat/{quote(intent_id, safe='')}"
                                f"?score={n}{extra}"}
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
        elif key == "eta_seconds" and value.strip().lstrip("-").isdecimal():  # "²".isdigit() but int("²") fails
            variables["eta_minutes"] = str(max(1, round(int(value.strip()) / 60)))  # int() strips less than str
        elif key == "estimated_delivery":
            variables[key] = value
            variables["new_eta"] = variables["new_eta"] or _display_date(value)
        else:
            variables[key] = value
    return variables
