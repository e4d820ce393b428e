"""SLA policies: the YAML model, first-match-wins selection and priority scaling. Pure."""
from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .calendar import Calendar, CalendarBook, CalendarError

METRICS = ("first_response", "agent_first_response", "next_response", "resolution", "phone_answer")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("bot", "queued", "assigned", "waiting_on_customer", "waiting_on_third_party", "resolved")
CHANNELS = ("email", "chat", "phone", "sms", "whatsapp", "messenger", "vk", "telegram", "web_form",
            "marketplace")
DEFAULT_MULTIPLIERS = {"urgent": 0.25, "high": 0.5, "normal": 1.0, "low": 2.0}
DEFAULT_PAUSE = ("waiting_on_customer", "waiting_on_third_party")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*"
                       r"(?:(\d+(?:\.\d+)?)s)?$")


class PolicyError(ValueError):
    """The SLA configuration is invalid; the message names the key to fix."""


def parse_duration(value: Any, where: str) -> timedelta:
    """'2h30m', '9m', '1d', '45s', '1.5h' or a number of seconds."""
    if isinstance(value, bool):
        raise PolicyError(f"{where}: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        match = _DURATION.match(text)
        if not text or not match or not any(match.groups()):
            raise PolicyError(f"{where}: {value!r} is not a duration like '2h30m', '9m', '45s' or seconds")
        d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = d * 86400 + h * 3600 + m * 60 + s
    if seconds < 0:
        raise PolicyError(f"{where}: duration must not be negative")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Target:
    duration: timedelta
    business_hours: bool


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    level: int
    name: str
    after_breach: timedelta
    recipients: tuple[str, ...]
    destinations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    brands: tuple[str, ...]
    channels: tuple[str, ...]
    priorities: tuple[str, ...]
    queues: tuple[str, ...]
    targets: Mapping[str, Target]
    scale_by_priority: bool
    warning_fractions: tuple[float, ...]
    warning_left: tuple[timedelta, ...]
    pause_statuses: Mapping[str, frozenset[str]]
    reopen: str                       # "resume" | "restart" (resolution clock on reopen)
    escalation_levels: tuple[EscalationLevel, ...]
    ack_timeout: timedelta | None
    repeat_contact_threshold: int
    reassignment_threshold: int
    proactive_update_after: timedelta | None
    calendar_id: str | None           # None: the calendar book's selection

    def matches(self, *, brand: str, channel: str, priority: str, queue: str) -> bool:
        return (_hit(self.brands, brand) and _hit(self.channels, channel) and _hit(self.priorities, priority)
                and _hit(self.queues, queue))

    def target(self, metric: str, priority: str, multipliers: Mapping[str, float]) -> Target | None:
        base = self.targets.get(metric)
        if base is None and metric == "agent_first_response":
            base = self.targets.get("first_response")
        if base is None:
            return None
        factor = multipliers.get(priority, 1.0) if self.scale_by_priority else 1.0
        # whole seconds: deadlines and the explanations in events stay readable
        return Target(timedelta(seconds=round(base.duration.total_seconds() * factor)), base.business_hours)

    def warnings_left(self, target: timedelta) -> tuple[timedelta, ...]:
        """Time left on the clock at which each warning fires, largest first (= earliest)."""
        lefts = {timedelta(seconds=round(target.total_seconds() * (1 - f))) for f in self.warning_fractions}
        lefts.update(left for left in self.warning_left if left < target)
        return tuple(sorted((x for x in lefts if x > timedelta(0)), reverse=True))

    def pauses(self, metric: str, status: str) -> bool:
        return status in self.pause_statuses.get(metric, frozenset())


def _hit(allowed: tuple[str, ...], value: str) -> bool:
    return "*" in allowed or value in allowed


@dataclass(frozen=True)
class PolicyBook:
    policies: tuple[Policy, ...]
    default: Policy
    multipliers: Mapping[str, float]
    calendars: CalendarBook

    def select(self, *, brand: str, channel: str, priority: str, queue: str) -> Policy:
        for policy in self.policies:
            if policy.matches(brand=brand, channel=channel, priority=priority, queue=queue):
                return policy
        return self.default

    def by_id(self, policy_id: str) -> Policy | None:
        if policy_id == self.default.id:
            return self.default
        return next((p for p in self.policies if p.id == policy_id), None)

    def calendar_for(self, policy: Policy, *, brand: str, region: str, channel: str, queue: str,
                     business_hours: bool) -> Calendar:
        if not business_hours:
            return self.calendars.get("24x7")
        if policy.calendar_id:
            return self.calendars.get(policy.calendar_id)
        return self.calendars.select(brand=brand, region=region, channel=channel, queue=queue)


def _list(value: Any, where: str, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    if value is None:
        return ("*",)
    items = (value,) if isinstance(value, str) else tuple(value)
    items = tuple(str(i).lower() for i in items)
    if allowed is not None:
        bad = [i for i in items if i != "*" and i not in allowed]
        if bad:
            raise PolicyError(f"{where}: unknown value(s) {bad}; allowed: {list(allowed)}")
    return items


def _targets(spec_by_metric: Mapping, where: str) -> dict[str, Target]:
    targets: dict[str, Target] = {}
    for metric, spec in spec_by_metric.items():
        if metric not in METRICS:
            raise PolicyError(f"{where}: unknown target {metric!r}; allowed: {list(METRICS)}")
        if spec is None:
            continue
        if not isinstance(spec, Mapping) or "within" not in spec:
            raise PolicyError(f"{where}.targets.{metric}: needs 'within' (e.g. 2h30m) and 'hours' "
                              f"(business|calendar)")
        hours = str(spec.get("hours", "calendar"))
        if hours not in ("business", "calendar"):
            raise PolicyError(f"{where}.targets.{metric}.hours must be 'business' or 'calendar', not {hours!r}")
        duration = parse_duration(spec["within"], f"{where}.targets.{metric}.within")
        if duration <= timedelta(0):
            raise PolicyError(f"{where}.targets.{metric}.within must be positive")
        targets[metric] = Target(duration, hours == "business")
    return targets


def _pause(pause_cfg: Mapping | None, where: str) -> dict[str, frozenset[str]]:
    pause: dict[str, frozenset[str]] = {}
    for metric in METRICS:
        statuses = DEFAULT_PAUSE if pause_cfg is None or metric not in pause_cfg else (pause_cfg[metric] or ())
        pause[metric] = frozenset(_list(statuses, f"{where}.pause.{metric}", STATUSES))
    if pause_cfg:
        unknown_metrics = set(pause_cfg) - set(METRICS)
        if unknown_metrics:
            raise PolicyError(f"{where}.pause: unknown metric(s) {sorted(unknown_metrics)}")
    return pause


def _escalation_levels(specs, where: str) -> list[EscalationLevel]:
    levels = []
    for i, lv in enumerate(specs, start=1):
        if not isinstance(lv, Mapping):
            raise PolicyError(f"{where}.escalation.levels[{i}] must be a mapping")
        levels.append(EscalationLevel(
            level=i, name=str(lv.get("name") or f"L{i}"),
            after_breach=parse_duration(lv.get("after_breach", 0), f"{where}.escalation.levels[{i}].after_breach"),
            recipients=tuple(str(r) for r in lv.get("recipients") or ()),
            destinations=tuple(str(d) for d in lv.get("destinations") or ())))
    if any(b.after_breach < a.after_breach for a, b in itertools.pairwise(levels)):
        raise PolicyError(f"{where}.escalation.levels: after_breach must not decrease from one level to the next")
    return levels


def _policy(data: Mapping, defaults: Mapping, where: str) -> Policy:
    merged = {**defaults, **data}
    known = {"id", "brands", "channels", "priorities", "queues", "targets", "scale_by_priority", "warnings",
             "pause", "reopen", "escalation", "repeat_contact_threshold", "reassignment_threshold",
             "proactive_update_after", "calendar"}
    unknown = set(data) - known
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}")
    policy_id = str(merged.get("id") or "")
    if not policy_id:
        raise PolicyError(f"{where}: every policy needs an 'id'")
    where = f"policy {policy_id!r}"
    targets = _targets(merged.get("targets") or {}, where)
    warnings = merged.get("warnings") or {}
    fractions = tuple(float(f) for f in warnings.get("fractions", (0.75, 0.9)))
    if any(not 0 < f < 1 for f in fractions):
        raise PolicyError(f"{where}.warnings.fractions must be between 0 and 1 (exclusive): {fractions}")
    lefts = tuple(parse_duration(x, f"{where}.warnings.time_left") for x in warnings.get("time_left", ()))
    pause = _pause(merged.get("pause"), where)
    reopen = str(merged.get("reopen", "resume"))
    if reopen not in ("resume", "restart"):
        raise PolicyError(f"{where}.reopen must be 'resume' or 'restart', not {reopen!r}")
    esc = merged.get("escalation") or {}
    levels = _escalation_levels(esc.get("levels") or (), where)
    ack = esc.get("ack_timeout")
    proactive = merged.get("proactive_update_after")
    try:
        repeat = int(merged.get("repeat_contact_threshold", 3))
        reassign = int(merged.get("reassignment_threshold", 3))
    except (TypeError, ValueError):
        raise PolicyError(f"{where}: repeat_contact_threshold / reassignment_threshold must be integers") from None
    return Policy(
        id=policy_id,
        brands=_list(merged.get("brands"), f"{where}.brands"),
        channels=_list(merged.get("channels"), f"{where}.channels", CHANNELS),
        priorities=_list(merged.get("priorities"), f"{where}.priorities", PRIORITIES),
        queues=_list(merged.get("queues"), f"{where}.queues"),
        targets=targets,
        scale_by_priority=bool(merged.get("scale_by_priority", True)),
        warning_fractions=fractions, warning_left=lefts, pause_statuses=pause, reopen=reopen,
        escalation_levels=tuple(levels),
        ack_timeout=parse_duration(ack, f"{where}.escalation.ack_timeout") if ack is not None else None,
        repeat_contact_threshold=repeat, reassignment_threshold=reassign,
        proactive_update_after=parse_duration(proactive, f"{where}.proactive_update_after") if proactive else None,
        calendar_id=str(merged["calendar"]) if merged.get("calendar") else None,
    )


def load_policy_book(config: Mapping) -> PolicyBook:
    """Validate the parsed sla.yaml (see docs/sla.md) and build the policy book."""
    if not isinstance(config, Mapping):
        raise PolicyError("sla.yaml must be a mapping")
    if config.get("version") != 1:
        raise PolicyError(f"sla.yaml: 'version' must be 1, got {config.get('version')!r}")
    try:
        calendars = {}
        for cal in config.get("calendars") or ():
            c = Calendar.from_config(cal)
            calendars[c.id] = c
        book = CalendarBook(calendars, config.get("calendar_rules") or (),
                            default_id=str(config.get("default_calendar", "24x7")))
    except CalendarError as exc:
        raise PolicyError(f"sla.yaml calendars: {exc}") from exc
    multipliers = {**DEFAULT_MULTIPLIERS, **{str(k): float(v) for k, v in
                                             (config.get("priority_multipliers") or {}).items()}}
    bad = set(multipliers) - set(PRIORITIES)
    if bad:
        raise PolicyError(f"sla.yaml priority_multipliers: unknown priority {sorted(bad)}")
    defaults = config.get("defaults") or {}
    policies = tuple(_policy(p, defaults, f"policies[{i}]") for i, p in enumerate(config.get("policies") or ()))
    ids = [p.id for p in policies]
    if len(ids) != len(set(ids)):
        raise PolicyError(f"sla.yaml: duplicate policy ids {sorted({i for i in ids if ids.count(i) > 1})}")
    default_cfg = config.get("default_policy")
    if not default_cfg:
        raise PolicyError("sla.yaml: 'default_policy' is required (used when no policy matches)")
    default = _policy({"id": "default", **default_cfg}, defaults, "default_policy")
    for policy in (*policies, default):
        if policy.calendar_id and policy.calendar_id not in book.calendars:
            raise PolicyError(f"policy {policy.id!r} names unknown calendar {policy.calendar_id!r}")
    return PolicyBook(policies=policies, default=default, multipliers=multipliers, calendars=book)
