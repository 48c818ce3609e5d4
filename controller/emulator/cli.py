"""`cloudservice-operator emulator`: run the Service Management emulator until interrupted.

    cloudservice-operator emulator --state-dir DIR [--host 127.0.0.1] [--port 8443]
                                   [--subscription ID ...] [--accept-seconds S]
                                   [--instance-step-seconds S] [--upgrade-domain-seconds S]
                                   [--health-timeout-seconds S] [--log-level LEVEL]

It prints its URL and the files a client needs (CA bundle, management certificates, admin
token), serves until SIGINT or SIGTERM, then closes its connections and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Sequence

from controller.emulator import certs
from controller.emulator.server import DEFAULT_SUBSCRIPTION, EmulatorServer
from controller.emulator.timings import Timings

DEFAULT_PORT = 8443


def parser() -> argparse.ArgumentParser:
    defaults = Timings()
    arguments = argparse.ArgumentParser(
        prog="cloudservice-operator emulator",
        description="Serve an emulated Azure Service Management API (Cloud Services, classic) over HTTPS.",
    )
    arguments.add_argument(
        "--state-dir", required=True, help="directory for the CA, certificates and admin token"
    )
    arguments.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    arguments.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port (0: any free one; default: %(default)s)"
    )
    arguments.add_argument(
        "--subscription",
        type=_subscription_id,
        action="append",
        default=[],
        metavar="ID",
        help=f"a subscription to serve (repeatable; default: {DEFAULT_SUBSCRIPTION})",
    )
    timing = arguments.add_argument_group("timings (seconds; 0 = instant)")
    for name, help_text in [
        ("accept-seconds", "accepting phase of each operation, while the deployment is Locked"),
        ("instance-step-seconds", "each role instance state step"),
        ("upgrade-domain-seconds", "pause between upgrade domains of an Auto update"),
        ("health-timeout-seconds", "how long an Auto update waits for cycling instances"),
    ]:
        field = name.replace("-", "_")
        timing.add_argument(
            f"--{name}",
            type=float,
            default=getattr(defaults, field),
            help=f"{help_text} (default: %(default)s)",
        )
    arguments.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return arguments


def _subscription_id(value: str) -> str:
    """Subscription ids become file names (management/<id>.pem): letters, digits and dashes only."""
    if not re.fullmatch(r"[A-Za-z0-9-]+", value):
        raise argparse.ArgumentTypeError(f"not a subscription id: {value!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        timings = Timings(
            args.accept_seconds,
            args.instance_step_seconds,
            args.upgrade_domain_seconds,
            args.health_timeout_seconds,
        )
    except ValueError as exc:
        parser().error(str(exc))
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = EmulatorServer(
        args.state_dir, host=args.host, port=args.port, subscriptions=args.subscription, timings=timings
    )
    try:
        asyncio.run(_serve(server))
    except OSError as exc:  # e.g. the port is taken
        sys.stderr.write(f"emulator: {exc}\n")
        return 1
    return 0


async def _serve(server: EmulatorServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' loop
            loop.add_signal_handler(sig, stop.set)
    async with server:
        _announce(server)
        await stop.wait()
    sys.stdout.write("emulator stopped\n")


def _announce(server: EmulatorServer) -> None:
    lines = [
        f"Service Management emulator listening on {server.url}",
        f"  CA bundle:    {server.ca_path}",
        f"  admin token:  {server.state_dir / certs.ADMIN_TOKEN_FILE}  (admin API: {server.url}/emulator/)",
    ]
    lines += [
        f"  subscription {subscription}: management certificate {server.management_pem_path(subscription)}"
        for subscription in server.subscriptions
    ]
    lines.append("Serving until interrupted (Ctrl+C or SIGTERM).")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
