"""Kubernetes events through kopf's poster (batched, retried, with kopf's reporting identity)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import kopf


class KopfEventSink:
    """`reconcile.events.EventSink` over `kopf.event`; must be called inside the operator."""

    def post(self, obj: Mapping[str, Any], *, type: str, reason: str, message: str) -> None:
        body = kopf.Body(cast(kopf.RawBody, dict(obj)))
        kopf.event(body, type=type, reason=reason, message=message)
