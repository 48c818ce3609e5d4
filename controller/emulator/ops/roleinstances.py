"""Reboot, Reimage and Rebuild Role Instance: one instance per call, 202 + an operation."""

from __future__ import annotations

from controller.emulator import backend
from controller.emulator.names import OperationName
from controller.emulator.routing import Call, Reply


def reboot_role_instance(call: Call, emulator: backend.Backend) -> Reply:
    return _restart(call, emulator, OperationName.REBOOT_ROLE_INSTANCE)


def reimage_role_instance(call: Call, emulator: backend.Backend) -> Reply:
    return _restart(call, emulator, OperationName.REIMAGE_ROLE_INSTANCE)


def rebuild_role_instance(call: Call, emulator: backend.Backend) -> Reply:
    """Like reimage; the route already insisted on resources=allLocalDrives (the only value)."""
    return _restart(call, emulator, OperationName.REBUILD_ROLE_INSTANCE)


def _restart(call: Call, emulator: backend.Backend, operation: OperationName) -> Reply:
    emulator.restart_role_instance(
        call.caller, call.target.deployment_ref(), call.target.instance or "", operation
    )
    return Reply(202)
