"""
Shared pieces for tests that run against ``controller.kube.apiserver.KubeApiServer``.

A small CRD of our own (``Widget``) keeps these tests independent of the product CRD, a fake
validator stands in for ``controller.kube.crdschema``, and ``fast_kopf_settings`` makes an
in-process kopf react in milliseconds instead of seconds.
"""

import asyncio
import copy
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import kopf

T = TypeVar("T")

GROUP = "tests.cloudservices.io"
VERSION = "v1"
PLURAL = "widgets"
WIDGETS = f"/apis/{GROUP}/{VERSION}/namespaces/shop/{PLURAL}"  # the collection in namespace "shop"

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}


def widget(name: str, *, size: int = 1, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name, **metadata},
        "spec": {"size": size},
    }


@dataclasses.dataclass(frozen=True)
class FakeFieldError:
    path: str
    message: str
    reason: str = "FieldValueInvalid"


class FakeWidgetSchema:
    """
    Stands in for CrdSchema: ``spec.undeclared`` is not in the schema; ``spec.color`` has a
    default; ``spec.size`` must be >= 0; ``status.phase`` is one of two values.
    """

    def prune(self, obj: dict[str, Any]) -> dict[str, Any]:
        pruned = copy.deepcopy(obj)
        pruned.get("spec", {}).pop("undeclared", None)
        return pruned

    def apply_defaults(self, obj: dict[str, Any]) -> dict[str, Any]:
        defaulted = copy.deepcopy(obj)
        if isinstance(defaulted.get("spec"), dict):
            defaulted["spec"].setdefault("color", "blue")
        return defaulted

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[FakeFieldError]:
        errors = []
        if "undeclared" in obj.get("spec", {}):
            errors.append(FakeFieldError("spec.undeclared", "Unknown field"))
        size = obj.get("spec", {}).get("size")
        if not isinstance(size, int) or size < 0:
            errors.append(FakeFieldError("spec.size", f"Invalid value: {json.dumps(size)}: must be >= 0"))
        phase = obj.get("status", {}).get("phase", "Pending")
        if phase not in ("Pending", "Ready"):
            message = f'Unsupported value: "{phase}": supported values: "Pending", "Ready"'
            errors.append(FakeFieldError("status.phase", message, "FieldValueNotSupported"))
        return errors


def fake_validators(crd: Mapping[str, Any], version: str) -> FakeWidgetSchema:
    return FakeWidgetSchema()


def fast_kopf_settings() -> kopf.OperatorSettings:
    """kopf tuned for a local in-memory server: fail fast, batch little, exit at once."""
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 10  # the server ends each watch; kopf reconnects
    settings.watching.client_timeout = 15
    settings.watching.connect_timeout = 1
    settings.networking.request_timeout = 5
    settings.networking.error_backoffs = [0.1]
    settings.queueing.idle_timeout = 0.5
    settings.queueing.exit_timeout = 0.5
    settings.posting.idle_timeout = 0.1
    settings.posting.level = (
        logging.INFO
    )  # kopf.info() events are posted (log records are not: posting.loggers)
    settings.execution.default_backoff = 0.1
    settings.background.instant_exit_timeout = 0.1
    return settings


async def eventually(probe: Callable[[], Awaitable[T | None]]) -> T:
    """The first truthy result of ``probe``, polled every few milliseconds (bound it with asyncio.timeout)."""
    # The state lives behind the server's HTTP API: there is no event to wait on, only a probe.
    while not (result := await probe()):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return result
