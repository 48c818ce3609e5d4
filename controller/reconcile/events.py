"""Kubernetes events of the reconcile loop, through a sink the kopf edge provides.

The reconcile package does not import kopf: the handlers hand in a sink that posts with
`kopf.event`. Every message passes `redact_text` on its way out and is bounded, so an Azure
message that echoed a SAS URL cannot reach an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from controller.azure import redaction

NORMAL = "Normal"
WARNING = "Warning"
MAX_MESSAGE = 1000  # the API server caps event messages at 1 KiB


class EventSink(Protocol):
    """Posts a Kubernetes event about `obj`."""

    def post(self, obj: Mapping[str, Any], *, type: str, reason: str, message: str) -> None: ...


class NullSink:
    """Drops events (tools and tests that do not look at them)."""

    def post(self, obj: Mapping[str, Any], *, type: str, reason: str, message: str) -> None:
        return None


class ListSink:
    """Keeps events in memory (tests)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def post(self, obj: Mapping[str, Any], *, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))


def post(sink: EventSink, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
    """Post a redacted, bounded event."""
    text = redaction.redact_text(message)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    sink.post(obj, type=type, reason=reason, message=text)
