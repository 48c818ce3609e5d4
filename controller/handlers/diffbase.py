"""kopf's diff base, kept as a digest: no spec (and no SAS URL or configuration) in annotations.

kopf remembers the last handled state of every object to tell real changes from noise. Its
default storage copies the whole spec into the `last-handled-configuration` annotation: a
secret-bearing URL would sit there in clear, and a large inline configuration can exceed the
256 KiB annotation limit. This storage keeps only a sha256 of that state. kopf then still sees
*that* something essential changed (the update handler fires), just not the field-level diff —
which the controller never uses: every pass reconciles the whole object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import cast

import kopf
from kopf._cogs.structs import bodies, dicts  # the storage API's own types (kopf re-exports no alias)

# Not the API group's own prefix: kopf ignores every annotation under a prefix it stores under,
# and `classic.cloudservices.io/confirm-not-issued` must count as a change (it wakes the object).
PREFIX = "kopf.classic.cloudservices.io"
KEY = "last-handled-digest"


class DigestDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """`AnnotationsDiffBaseStorage` whose essence is `{"spec": {"digest": <sha256>}}`."""

    def __init__(self, *, prefix: str = PREFIX, key: str = KEY) -> None:
        super().__init__(prefix=prefix, key=key)

    def build(
        self,
        *,
        body: bodies.Body,
        extra_fields: Iterable[dicts.FieldSpec] | None = None,
    ) -> bodies.BodyEssence:
        essence = super().build(body=body, extra_fields=extra_fields)
        encoded = json.dumps(essence, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()
        return cast(bodies.BodyEssence, {"spec": {"digest": digest}})
