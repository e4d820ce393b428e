"""Offline schema validation of rendered objects.

- Built-in kinds: kubernetes-validate against the Kubernetes 1.30 OpenAPI schemas, strict (unknown
  fields are errors).
- ServiceMonitor / PrometheusRule: the cloudcoil prometheus-operator models. Their pydantic models
  silently ignore unknown fields, so we also compare the input with the model's dump and report every
  key the model dropped.
- Strimzi KafkaTopic: no offline model exists on PyPI; a JSON schema of the v1beta2 fields the chart
  uses (taken from the Strimzi CRD: spec.topicName/partitions/replicas/config, nothing else) keeps
  typos and wrong types out.
"""
from __future__ import annotations

from typing import Any

import jsonschema

KUBE_VERSION = "1.30"

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

KAFKA_TOPIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaTopic"},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "properties": {
                "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
                "namespace": {"type": "string"},
                "labels": {
                    "type": "object",
                    "required": ["strimzi.io/cluster"],
                    "additionalProperties": {"type": "string"},
                },
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string", "minLength": 1, "maxLength": 249, "pattern": r"^[a-zA-Z0-9._-]+$"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object",
                           "additionalProperties": {"type": ["string", "integer", "boolean", "number"]}},
            },
        },
    },
}


def _dropped_keys(given: Any, kept: Any, path: str = "") -> list[str]:
    """Keys present in `given` that the model's dump (`kept`) does not have: unknown fields."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "<root>"]
        out = []
        for key, value in given.items():
            if key not in kept:
                out.append(f"{path}.{key}".lstrip("."))
            else:
                out.extend(_dropped_keys(value, kept[key], f"{path}.{key}"))
        return out
    if isinstance(given, list) and isinstance(kept, list):
        return [p for i, (g, k) in enumerate(zip(given, kept, strict=False))
                for p in _dropped_keys(g, k, f"{path}[{i}]")]
    return []


def _validate_prometheus_operator(doc: dict[str, Any]) -> list[str]:
    from cloudcoil.models.prometheus_operator import v1
    from pydantic import ValidationError

    model = {"ServiceMonitor": v1.ServiceMonitor, "PrometheusRule": v1.PrometheusRule}[doc["kind"]]
    try:
        parsed = model.model_validate(doc)
    except ValidationError as exc:
        return [str(exc)]
    dumped = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
    return [f"unknown field {key}" for key in _dropped_keys(doc, dumped)]


def errors(doc: dict[str, Any]) -> list[str]:
    """Schema errors of one rendered object (empty when valid)."""
    api, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    if api.startswith("monitoring.coreos.com/"):
        return _validate_prometheus_operator(doc)
    if api.startswith("kafka.strimzi.io/"):
        validator = jsonschema.Draft7Validator(KAFKA_TOPIC_SCHEMA)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:  # a jsonschema ValidationError
        return [f"{'/'.join(map(str, exc.absolute_path))}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no Kubernetes {KUBE_VERSION} schema for {api} {kind}"]
    return []
