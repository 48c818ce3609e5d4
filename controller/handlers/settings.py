"""kopf's settings for this controller, and why each one is set.

- Diff base as a digest (`DigestDiffBaseStorage`): kopf's default copies the spec into an
  annotation, which would carry package URLs and configurations (and can outgrow 256 KiB).
- Progress in `status.kopf` only, not in annotations: fewer metadata writes, and the CRD keeps
  `status.kopf` open for it.
- Our own finalizer name (kopf adds one because daemons must be stopped before deletion).
- Watch timeouts: a watch stream can go silent without closing; the server is asked to end it
  and the client gives up shortly after, so a dead stream costs minutes, not forever.
- Events are posted with this controller's name as the reporting component.
- Standalone by default: one replica (Deployment strategy Recreate), no peering objects needed.
"""

from __future__ import annotations

import logging

import kopf

from controller.handlers.diffbase import DigestDiffBaseStorage
from controller.handlers.options import ControllerOptions

COMPONENT = "cloudservice-operator"
FINALIZER = "classic.cloudservices.io/finalizer"


def configure(settings: kopf.OperatorSettings, options: ControllerOptions) -> None:
    """Apply this controller's kopf settings."""
    settings.persistence.diffbase_storage = DigestDiffBaseStorage()
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.finalizer = FINALIZER
    # An integer: the API server refuses a fractional timeoutSeconds (400).
    settings.watching.server_timeout = int(options.watch_server_timeout)
    settings.watching.client_timeout = options.watch_client_timeout
    settings.watching.connect_timeout = 30
    settings.posting.enabled = True
    settings.posting.level = logging.INFO
    settings.posting.reporting_component = COMPONENT
    settings.posting.event_name_prefix = "cso-"
    settings.peering.standalone = options.standalone and options.peering is None
    if options.peering is not None:
        settings.peering.name = options.peering
        settings.peering.mandatory = True
