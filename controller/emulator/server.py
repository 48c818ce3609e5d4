"""`EmulatorServer`: the emulator as an async context manager, for tests, the sandbox and the CLI.

    async with EmulatorServer(state_dir, subscriptions=["9f0c…"], timings=Timings.instant()) as emulator:
        emulator.url                    # https://127.0.0.1:PORT
        emulator.ca_pem                 # trust anchor of the server certificate
        emulator.management_pem(sub)    # certificate + key a client presents for `sub`
        emulator.admin_token            # bearer token of the admin API
        emulator.state                  # the backend, for in-process assertions
        emulator.control                # the admin operations, in-process

TLS: the server asks for a client certificate without requiring one (CERT_OPTIONAL), so a
request without a certificate gets the service's 403 ForbiddenError body rather than a handshake
failure. OpenSSL still verifies a presented certificate, so the trust store holds the emulator CA
(which issues the management certificates) and every registered certificate itself (with partial
chains allowed, so a self-signed or foreign-issued registered certificate is accepted). A
certificate known to neither fails the handshake where the real service would answer 403: the
standard library offers no "accept any certificate" verification callback.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from aiohttp import web

from controller.emulator import app, backend, certs, control
from controller.emulator.clock import Clock
from controller.emulator.timings import Timings

DEFAULT_SUBSCRIPTION = "9f0c6a0e-0000-4000-8000-000000000001"
_WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104  # the address clients use then is loopback


class EmulatorServer:
    """The Service Management emulator on HTTPS, for as long as the context is entered."""

    def __init__(
        self,
        state_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        subscriptions: Iterable[str] | None = None,
        timings: Timings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.host = host
        self._port = port
        self._subscriptions = list(subscriptions or [])
        self._timings = timings or Timings()
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self._control: control.Control | None = None
        self._authority: certs.Authority | None = None
        self._token = ""

    async def __aenter__(self) -> EmulatorServer:
        await asyncio.to_thread(self._prepare_files)  # key generation takes a moment; keep the loop free
        assert self._authority is not None
        context = _tls_context(self.state_dir / certs.SERVER_FILE, self._authority)
        emulator = backend.Backend(timings=self._timings, clock=self._clock)
        self._control = control.Control(
            emulator,
            state_dir=self.state_dir,
            authority=self._authority,
            trust=_trusting(context),
            timings=self._timings,
        )
        await asyncio.to_thread(self._register_subscriptions)
        self._runner = web.AppRunner(app.create_app(self._control, self._token), shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self._port, ssl_context=context).start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._runner is None:
            return
        server = self._runner.server
        connections = [handler.transport for handler in server.connections] if server is not None else []
        await self._runner.cleanup()
        self._runner = None
        for transport in connections:
            # Closing TLS waits for the peer's close_notify, which an idle pooled client may never
            # send; the emulator is stopping, so cut what is left rather than leak it.
            if transport is not None:
                transport.abort()

    def _prepare_files(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._authority = certs.authority(self.state_dir)
        certs.server_certificate(self.state_dir, self._authority, self.host)
        self._token = certs.admin_token(self.state_dir)

    def _register_subscriptions(self) -> None:
        """The requested subscriptions (the default one when none), plus those of earlier runs."""
        assert self._control is not None
        wanted = self._subscriptions or [DEFAULT_SUBSCRIPTION]
        for subscription_id in dict.fromkeys([*wanted, *certs.existing_subscriptions(self.state_dir)]):
            self._control.add_subscription(control.SubscriptionInput(subscription_id=subscription_id))

    @property
    def port(self) -> int:
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the emulator is not running")
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        return (self.state_dir / certs.CA_FILE).read_bytes()

    @property
    def ca_path(self) -> Path:
        return self.state_dir / certs.CA_FILE

    def management_pem_path(self, subscription_id: str) -> Path:
        return self.state_dir / certs.MANAGEMENT_DIR / f"{subscription_id}.pem"

    def management_pem(self, subscription_id: str) -> bytes:
        """Certificate + key of the subscription's generated management certificate."""
        return self.management_pem_path(subscription_id).read_bytes()

    @property
    def admin_token(self) -> str:
        return self._token

    @property
    def control(self) -> control.Control:
        if self._control is None:
            raise RuntimeError("the emulator is not running")
        return self._control

    @property
    def state(self) -> backend.Backend:
        """The backend (state, clock, operation records), for in-process assertions."""
        return self.control.backend

    @property
    def subscriptions(self) -> list[str]:
        return [subscription.id for subscription in self.state.state.subscriptions.values()]


def _tls_context(server_pem: Path, authority: certs.Authority) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server_pem)
    context.verify_mode = ssl.CERT_OPTIONAL
    # A registered management certificate is its own trust anchor (self-signed ones included).
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=authority.pem.decode("ascii"))
    return context


def _trusting(context: ssl.SSLContext) -> Callable[[bytes], None]:
    def trust(certificate_pem: bytes) -> None:
        context.load_verify_locations(cadata=certificate_pem.decode("ascii"))  # applies to new handshakes

    return trust
