"""The handoff summary card: what the bot hands a person, as lines an agent reads at a glance.

The router stores each handoff as {at, reason, summary}; `summary` is a structured record (customer,
channels, orders, what the bot already said, what the customer already sent) or, for an agent who
took over, one sentence. Both become a card: reason, time, and labelled lines; never a raw dict."""
from __future__ import annotations

HANDOFF_REASONS = {
    "requested_human": "the customer asked for a person", "unmatched_twice": "the bot did not understand twice",
    "angry_or_urgent": "the customer sounded angry or urgent", "repeated_messages": "the customer repeated themselves",
    "no_bot_for_channel": "no bot on this channel", "agent_took_over": "an agent took over",
    "answers_exhausted": "the bot had no more answers", "order_not_linked": "an order to verify",
}


def reason_text(reason: str) -> str:
    return HANDOFF_REASONS.get(reason, reason.replace("_", " ") or "handoff")


def _customer(customer: dict) -> str:
    parts = [str(customer.get("name") or customer.get("customer_id") or "unknown")]
    if customer.get("vip"):
        parts.append("VIP")
    if customer.get("language"):
        parts.append(f"language {customer['language']}")
    return " · ".join(parts)


def _orders(orders: list) -> str:
    return ", ".join(f"{o.get('order_number') or o.get('order_id', '')}"
                     + (f" ({str(o['status']).replace('_', ' ')})" if o.get("status") else "")
                     for o in orders if isinstance(o, dict))


def _sent(sent: dict) -> str:
    count = int(sent.get("messages") or 0)
    text = f"{count} message{'s' if count != 1 else ''}"
    names = [a.get("filename") or a.get("name") or a.get("content_type") or "file"
             for a in sent.get("attachments") or [] if isinstance(a, dict)]
    return text + (f"; attachments: {', '.join(names)}" if names else "")


def summary_lines(summary: dict) -> list[tuple[str, str]]:
    """(label, text) lines of a structured summary; empty facts are left out."""
    lines = []
    if isinstance(summary.get("customer"), dict):
        lines.append(("Customer", _customer(summary["customer"])))
    channels = [f"{c.get('channel', '?')} ×{c.get('messages', 0)}" for c in summary.get("channels") or []
                if isinstance(c, dict)]
    if channels:
        lines.append(("Channels", ", ".join(channels)))
    if orders := _orders(summary.get("orders") or []):
        lines.append(("Orders", orders))
    if summary.get("named_order"):
        lines.append(("Verify", f"the customer named order {summary['named_order']}, not linked to them"))
    said = [str(k).replace("_", " ") for k in summary.get("bot_said") or []]
    if said:
        lines.append(("Bot already said", ", ".join(said)))
    if isinstance(summary.get("customer_sent"), dict):
        lines.append(("Customer already sent", _sent(summary["customer_sent"])))
    return lines


def handoff_card(handoff: dict) -> dict:
    """{reason, reason_text, at, text, lines}: `text` for a one-sentence summary, `lines` for a record."""
    summary = handoff.get("summary")
    reason = str(handoff.get("reason") or (summary.get("reason") if isinstance(summary, dict) else "") or "")
    card = {"reason": reason, "reason_text": reason_text(reason), "at": handoff.get("at"), "text": "", "lines": []}
    if isinstance(summary, dict):
        card["lines"] = summary_lines(summary)
    elif summary:
        card["text"] = str(summary)
    return card
