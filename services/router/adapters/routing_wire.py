"""The routing topic's records: an input as the intake stage validated it, wrapped for the routing stage.

The intake stage decodes every input once (a poison record goes to the DLQ there), detects the
language of a message text (the costly step, scaled with the inbound partitions) and forwards the
same protobuf input in a `RoutingRequest` keyed by brand, under the input's own event id and time.
The routing stage unwraps it into the envelope the input arrived in and decodes it as before, with
the language already known.
"""

from __future__ import annotations

from dataclasses import replace

from switchboard.common.cloudevents import Envelope, event_type
from switchboard.common.consumer import PermanentError
from switchboard.events.v1 import agent_pb2, inbound_pb2, orders_pb2, routing_pb2

from ..domain.inputs import Input
from . import codec, delta_wire
from .language import LanguageDetector

_CASES = {inbound_pb2.InboundEvent: "inbound", orders_pb2.OrderEvent: "order", agent_pb2.AgentCommand: "command"}


class _Recording:
    """Wraps the real detector and keeps what it said, for the routing stage."""

    def __init__(self, detector: LanguageDetector) -> None:
        self._detector, self.language = detector, ""

    def detect(self, text: str) -> str:
        self.language = self._detector.detect(text)
        return self.language


class Known:
    """The language the intake stage detected: the routing stage never runs the detector."""

    def __init__(self, language: str) -> None:
        self._language = language

    def detect(self, text: str) -> str:
        return self._language


def wrap_input(env: Envelope, detector: LanguageDetector) -> tuple[Input, routing_pb2.RoutingRequest]:
    """(the decoded input, request): the intake keys the request by the input's customer. Raises
    PermanentError (-> the intake's DLQ) for an input the router cannot apply."""
    recording = _Recording(detector)
    inp = codec.decode(env, recording)
    case = _CASES.get(type(env.payload))
    if case is None:  # the runner refuses other types per topic; a guard for new topics
        raise PermanentError(f"the router does not route {env.payload.DESCRIPTOR.full_name}")
    request = routing_pb2.RoutingRequest(brand_id=inp.brand_id, detected_language=recording.language,
                                         origin_source=env.source, origin_topic=env.topic or "",
                                         origin_partition=env.partition or 0, origin_offset=env.offset or 0,
                                         origin_key=env.key or b"")
    getattr(request, case).CopyFrom(env.payload)
    return inp, request


def unwrap(env: Envelope) -> tuple[Envelope, Known]:
    """The input's own envelope (same id, time, correlation; topic, partition, offset and key where the
    intake read it) and its detected language."""
    request = env.payload
    if not isinstance(request, routing_pb2.RoutingRequest):
        raise PermanentError(f"the routing topic carries RoutingRequest, not {env.payload.DESCRIPTOR.full_name}")
    case = request.WhichOneof("event")
    if case is None:
        raise PermanentError("RoutingRequest.event (inbound, order, command or delta) is required")
    payload = getattr(request, case)
    inner = replace(env, payload=payload, type=event_type(payload), source=request.origin_source or env.source,
                    brand_id=request.brand_id or env.brand_id, topic=request.origin_topic or env.topic,
                    partition=request.origin_partition, offset=request.origin_offset,
                    key=request.origin_key or env.key, raw_headers=[])
    return inner, Known(request.detected_language)


def delta_request(delta) -> routing_pb2.RoutingRequest:
    """A contact stage's delta (domain/delta.py) as the routing topic's record."""
    return routing_pb2.RoutingRequest(brand_id=delta.brand_id, delta=delta_wire.encode(delta))


def rekeyed(request: routing_pb2.RoutingRequest) -> routing_pb2.RoutingRequest:
    """The contacts record again, once more re-keyed by the contact stage (applied where it lands after once)."""
    copy = routing_pb2.RoutingRequest()
    copy.CopyFrom(request)
    copy.rekeyed += 1
    return copy


def is_delta(env: Envelope) -> bool:
    """An unwrapped record that is a contact stage's delta, not an input."""
    return isinstance(env.payload, routing_pb2.ContactDelta)


async def dead_letter(producer, inner: Envelope, group: str, error: str) -> None:
    """An input the routing stage rejected goes to its own topic's DLQ (headers as the runner writes)."""
    headers = [*inner.headers(), ("dlq_reason", b"rejected"), ("dlq_error", error[:1000].encode()),
               ("dlq_topic", (inner.topic or "").encode()), ("dlq_partition", str(inner.partition or 0).encode()),
               ("dlq_offset", str(inner.offset or 0).encode()), ("dlq_group", group.encode())]
    await producer.send_raw(f"{inner.topic}.dlq", inner.payload.SerializeToString(), inner.key, headers)
