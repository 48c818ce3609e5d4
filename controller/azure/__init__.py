"""The Service Management (classic) boundary: the async client and everything it raises.

Import modules, not names (`from controller.azure import client, errors`). This file imports
nothing on purpose: the emulator imports `controller.azure.wire`, which must not pull in httpx
or the client through the package.
"""
