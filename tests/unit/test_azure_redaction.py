"""No SAS signature and no key material in any message, repr or log line."""

from __future__ import annotations

import logging

import httpx
import pytest

from controller.azure import client, credentials, errors, redaction, wire
from controller.azure.refs import DeploymentRef
from tests.azure_fixtures import ENDPOINT, SAS_URL, SUBSCRIPTION, FakeService, error, make_client, make_pki

pytestmark = pytest.mark.looptime

REF = DeploymentRef(service="contoso-web", slot="Production")
KEY_PEM = make_pki().client_key_pem.decode()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (SAS_URL, "https://acct.blob.core.windows.net/pkgs/web-42.cspkg?REDACTED"),
        (
            "https://acct.blob.core.windows.net/p/x.cspkg?anything=1",
            "https://acct.blob.core.windows.net/p/x.cspkg?REDACTED",
        ),
        ("https://host.example/p?sig=abc", "https://host.example/p?REDACTED"),
        ("https://host.example/p?SKOID=1&x=2", "https://host.example/p?REDACTED"),
        ("https://user:pass@host.example/p", "https://host.example/p"),
        (
            "https://management.core.windows.net/sub/x/?comp=upgrade",
            "https://management.core.windows.net/sub/x/?comp=upgrade",
        ),
        ("https://host.example/p#frag", "https://host.example/p"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redaction.redact_url(url) == expected
    assert redaction.redact_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        f"The package {SAS_URL} could not be downloaded.",
        f"<PackageUrl>{SAS_URL.replace('&', '&amp;')}</PackageUrl>",
        "blob query sv=2022-11-02&amp;sig=SECRET&amp;se=2030",
        "encoded https%3A%2F%2Facct.blob.core.windows.net%2Fp%3Fsig%3DSECRET",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=SECRET;EndpointSuffix=core.windows.net",
        "SharedAccessSignature=SECRET;",
    ],
)
def test_redact_text_removes_signatures_and_keys(text: str) -> None:
    redacted = redaction.redact_text(text)

    assert "SECRET" not in redacted
    assert redaction.redact_text(redacted) == redacted


def test_redact_text_removes_pem_blocks_even_truncated() -> None:
    text = f"before {KEY_PEM} between {KEY_PEM[:120]}"

    redacted = redaction.redact_text(text)

    assert "PRIVATE KEY" not in redacted
    assert KEY_PEM.splitlines()[1] not in redacted
    assert redacted.split() == ["before", "[REDACTED", "PEM]", "between", "[REDACTED", "PEM]"]


async def test_failures_never_carry_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"The package {SAS_URL} is invalid; key was {KEY_PEM}"
    service = FakeService(
        [
            error(503, "ServerBusy", echo),  # retried and logged
            error(400, "BadRequest", echo),
        ]
    )
    body = wire.UpgradeDeployment.build(package_url=SAS_URL, configuration=KEY_PEM, label="l")

    async with make_client(service) as azure:
        with pytest.raises(errors.PermanentError) as caught:
            await azure.upgrade_deployment(ref=REF, body=body)

    texts = [str(caught.value), repr(caught.value), caught.value.message, caplog.text, repr(body), str(body)]
    for text in texts:
        assert "SECRET" not in text
        assert "PRIVATE KEY" not in text
    assert b"sig=SECRET" in service.requests[0].content  # only the wire itself carries it


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.ConnectError])
async def test_transport_failures_never_carry_secrets(
    failure: type[httpx.HTTPError], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def fail(request: httpx.Request) -> httpx.Response:
        raise failure(f"lost while sending {SAS_URL} with {KEY_PEM}", request=request)

    body = wire.UpgradeDeployment.build(package_url=SAS_URL, configuration="", label="l")
    async with make_client(FakeService([fail])) as azure:
        with pytest.raises(errors.AzureError) as caught:
            await azure.upgrade_deployment(ref=REF, body=body)

    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert "SECRET" not in text
        assert "PRIVATE KEY" not in text


def test_every_error_class_redacts_its_message() -> None:
    message = f"{SAS_URL} {KEY_PEM}"
    built = [
        errors.TransportError(message),
        errors.OutcomeUnknownError(message, operation="UpgradeDeployment", target="t"),
        errors.CredentialsError(message),
        errors.OperationFailedError(request_id="r", status=400, code="BadRequest", message=message),
        *(
            cls(status=400, code="C", message=message)
            for cls in (
                errors.ApiError,
                errors.RetryableError,
                errors.ThrottledError,
                errors.ConflictError,
                errors.NotFoundError,
                errors.ForbiddenError,
                errors.PermanentError,
                errors.MalformedResponseError,
            )
        ),
    ]

    for exc in built:
        for text in (str(exc), repr(exc), getattr(exc, "message", ""), getattr(exc, "reason", "")):
            assert "SECRET" not in text, type(exc)
            assert "PRIVATE KEY" not in text, type(exc)


def test_percent_encoded_signatures_are_removed_whole() -> None:
    assert redaction.redact_text("x sig=ab%2Bcd%3D&se=1") == "x sig=REDACTED&se=1"
    assert redaction.redact_text("design=1 assig=3") == "design=1 assig=3"  # only a real `sig` parameter


async def test_the_client_repr_names_the_certificate_not_the_key() -> None:
    pki = make_pki()
    creds = credentials.ManagementCredentials(cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem)

    async with client.ServiceManagementClient(
        endpoint=ENDPOINT, subscription_id=SUBSCRIPTION, credentials=creds, ca_pem=pki.ca_pem
    ) as azure:
        text = repr(azure)

    assert creds.thumbprint in text
    assert "PRIVATE KEY" not in text
