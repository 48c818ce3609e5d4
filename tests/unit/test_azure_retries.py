"""Every error class and retry rule, through the client, against a scripted transport.

The rule under test: reads are retried freely (bounded); a mutating call is re-sent only when it
never reached the service or was refused (429/503/408); otherwise its outcome is unknown and it
is never re-sent. Time is virtual (looptime) and sleeps are recorded, so nothing really waits.
"""

from __future__ import annotations

import ssl

import httpx
import pytest

from controller.azure import errors, retry, wire
from controller.azure.refs import DeploymentRef
from tests.azure_fixtures import (
    REQUEST_ID,
    FakeService,
    SleepRecorder,
    accepted,
    error,
    make_client,
    xml,
)

pytestmark = pytest.mark.looptime

REF = DeploymentRef(service="contoso-web", slot="Production")
DEPLOYMENT = wire.Deployment(name="d", deployment_slot="Production", status="Running")
BODY = wire.UpgradeDeployment.build(
    package_url="https://a.blob.core.windows.net/p.cspkg", configuration="", label="l"
)


async def _upgrade(service: FakeService, sleep: SleepRecorder | None = None, **kwargs: object) -> str:
    async with make_client(service, sleep=sleep, **kwargs) as azure:  # type: ignore[arg-type]
        return await azure.upgrade_deployment(ref=REF, body=BODY)


async def _get(service: FakeService, sleep: SleepRecorder | None = None) -> wire.Deployment:
    async with make_client(service, sleep=sleep) as azure:
        return await azure.get_deployment(ref=REF)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "BadRequest", errors.PermanentError),
        (400, "MissingOrIncorrectVersionHeader", errors.PermanentError),
        (400, "InvalidXmlRequest", errors.PermanentError),
        (401, "Unauthorized", errors.ForbiddenError),
        (403, "ForbiddenError", errors.ForbiddenError),
        (403, "SubscriptionDisabled", errors.ForbiddenError),
        (404, "ResourceNotFound", errors.NotFoundError),
        (409, "ConflictError", errors.ConflictError),
        (412, "PreconditionError", errors.PermanentError),
        (429, "TooManyRequests", errors.ThrottledError),
        (503, "TooManyRequests", errors.ThrottledError),
        (500, "InternalError", errors.RetryableError),
        (500, "OperationTimedOut", errors.RetryableError),
        (502, "", errors.RetryableError),
        (503, "ServerBusy", errors.RetryableError),
        (504, "", errors.RetryableError),
        (408, "", errors.RetryableError),
        (302, "", errors.PermanentError),
    ],
)
def test_classification_table(status: int, code: str, expected: type[errors.ApiError]) -> None:
    assert errors.classify(status, code) is expected


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "BadRequest", errors.PermanentError),
        (403, "ForbiddenError", errors.ForbiddenError),
        (404, "ResourceNotFound", errors.NotFoundError),
        (409, "ConflictError", errors.ConflictError),
    ],
)
async def test_final_errors_are_raised_at_once_for_reads_and_writes(
    status: int, code: str, expected: type[errors.ApiError]
) -> None:
    for call in (_get, _upgrade):
        service = FakeService([error(status, code, "nope", request_id="f" * 32)])

        with pytest.raises(expected) as caught:
            await call(service)

        assert len(service.requests) == 1
        assert (caught.value.status, caught.value.code, caught.value.message) == (status, code, "nope")
        assert caught.value.request_id == "f" * 32
        assert caught.value.operation in {"GetDeployment", "UpgradeDeployment"}
        assert "contoso-web (slot Production)" in str(caught.value)


async def test_conflict_is_surfaced_not_waited_on_inside_the_client() -> None:
    service = FakeService([error(409, "ConflictError", "Windows Azure is currently performing an operation")])
    sleep = SleepRecorder()

    with pytest.raises(errors.ConflictError):
        await _upgrade(service, sleep)

    assert sleep.delays == []


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalError"), (503, "ServerBusy"), (502, ""), (429, "")]
)
async def test_reads_are_retried_on_transient_answers(status: int, code: str) -> None:
    service = FakeService([error(status, code), error(status, code), xml(DEPLOYMENT)])
    sleep = SleepRecorder()

    assert await _get(service, sleep) == DEPLOYMENT

    assert len(service.requests) == 3
    assert len(sleep.delays) == 2


@pytest.mark.parametrize(("status", "code"), [(503, "ServerBusy"), (429, "TooManyRequests"), (408, "")])
async def test_writes_are_re_sent_when_the_service_refused_them(status: int, code: str) -> None:
    service = FakeService([error(status, code), accepted()])

    assert await _upgrade(service) == REQUEST_ID

    assert len(service.requests) == 2
    assert service.requests[0].content == service.requests[1].content == BODY.to_bytes()


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalError"), (500, "OperationTimedOut"), (502, ""), (504, ""), (507, "")]
)
async def test_writes_are_not_re_sent_after_a_500_the_outcome_is_unknown(status: int, code: str) -> None:
    service = FakeService([error(status, code, "boom", request_id="a" * 32), accepted()])

    with pytest.raises(errors.OutcomeUnknownError) as caught:
        await _upgrade(service)

    assert len(service.requests) == 1
    assert isinstance(caught.value.__cause__, errors.RetryableError)
    assert caught.value.request_id == "a" * 32
    assert (caught.value.operation, caught.value.target) == (
        "UpgradeDeployment",
        "contoso-web (slot Production)",
    )
    assert f"HTTP {status}" in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.WriteTimeout],
)
async def test_writes_whose_outcome_is_unknown_are_never_re_sent(failure: type[httpx.HTTPError]) -> None:
    service = FakeService([failure, accepted()])

    with pytest.raises(errors.OutcomeUnknownError) as caught:
        await _upgrade(service)

    assert len(service.requests) == 1
    assert isinstance(caught.value.__cause__, failure)
    assert failure.__name__ in str(caught.value)
    assert "contoso-web (slot Production)" in str(caught.value)


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_writes_that_never_left_are_re_sent(failure: type[httpx.HTTPError]) -> None:
    service = FakeService([failure, failure, accepted()])

    assert await _upgrade(service) == REQUEST_ID

    assert len(service.requests) == 3


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError, httpx.WriteError],
)
async def test_reads_are_retried_after_any_transport_failure(failure: type[httpx.HTTPError]) -> None:
    service = FakeService([failure, xml(DEPLOYMENT)])

    assert await _get(service) == DEPLOYMENT

    assert len(service.requests) == 2


async def test_exhausted_read_retries_raise_a_transport_error() -> None:
    service = FakeService([httpx.ReadTimeout])

    with pytest.raises(errors.TransportError) as caught:
        await _get(service)

    assert len(service.requests) == 4  # FAST_RETRIES.max_attempts
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


async def test_exhausted_write_refusals_raise_the_last_retryable_error() -> None:
    service = FakeService([error(503, "ServerBusy")])

    with pytest.raises(errors.RetryableError) as caught:
        await _upgrade(service)

    assert len(service.requests) == 4
    assert caught.value.code == "ServerBusy"


async def test_a_tls_trust_failure_is_a_credentials_error_and_not_retried() -> None:
    def untrusted(request: httpx.Request) -> httpx.Response:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed: unable to get local issuer")
        except ssl.SSLError as exc:
            raise httpx.ConnectError("handshake failed", request=request) from exc

    service = FakeService([untrusted])

    with pytest.raises(errors.CredentialsError, match="not trusted"):
        await _upgrade(service)

    assert len(service.requests) == 1


async def test_backoff_uses_full_jitter_within_exponential_bounds() -> None:
    policy = retry.RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=5.0, max_elapsed=1000.0)
    service = FakeService([error(503, "ServerBusy")] * 5 + [xml(DEPLOYMENT)])
    sleep = SleepRecorder()

    async with make_client(service, sleep=sleep, policy=policy) as azure:
        await azure.get_deployment(ref=REF)

    ceilings = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(sleep.delays) == 5
    assert all(0.0 <= delay <= ceiling for delay, ceiling in zip(sleep.delays, ceilings, strict=True))
    assert len(set(sleep.delays)) == 5  # jittered, not a fixed ladder


async def test_retry_after_is_honoured(looptime: float) -> None:
    service = FakeService([error(429, "TooManyRequests", headers={"Retry-After": "7"}), xml(DEPLOYMENT)])
    sleep = SleepRecorder()

    await _get(service, sleep)

    assert sleep.delays[0] >= 7.0
    assert looptime >= 7.0


async def test_retry_after_as_an_http_date_is_understood() -> None:
    assert retry.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: go now
    assert retry.parse_retry_after("12") == 12.0
    assert retry.parse_retry_after("soon") is None
    assert retry.parse_retry_after(None) is None


async def test_a_retry_after_beyond_the_policy_is_surfaced_with_its_value() -> None:
    service = FakeService([error(429, "TooManyRequests", headers={"Retry-After": "3600"}), xml(DEPLOYMENT)])

    with pytest.raises(errors.ThrottledError) as caught:
        await _get(service)

    assert caught.value.retry_after == 3600.0
    assert len(service.requests) == 1


async def test_retrying_stops_when_the_time_budget_is_spent() -> None:
    policy = retry.RetryPolicy(max_attempts=100, base_delay=10.0, max_delay=10.0, max_elapsed=30.0)
    service = FakeService([error(429, "TooManyRequests", headers={"Retry-After": "10"})])
    sleep = SleepRecorder()

    with pytest.raises(errors.ThrottledError):
        async with make_client(service, sleep=sleep, policy=policy) as azure:
            await azure.get_deployment(ref=REF)

    assert sum(sleep.delays) <= 30.0
    assert len(service.requests) <= 4


async def test_307_is_followed_with_the_same_method_and_body() -> None:
    moved = httpx.Response(307, headers={"Location": "https://other.example.test/elsewhere/?comp=upgrade"})
    service = FakeService([moved, accepted()])

    assert await _upgrade(service) == REQUEST_ID

    first, second = service.requests
    assert str(second.url) == "https://other.example.test/elsewhere/?comp=upgrade"
    assert (second.method, second.content) == (first.method, first.content)
    assert second.headers["x-ms-version"] == "2014-10-01"


async def test_relative_307_locations_are_resolved() -> None:
    service = FakeService([httpx.Response(307, headers={"Location": "/moved"}), xml(DEPLOYMENT)])

    await _get(service)

    assert str(service.requests[1].url) == "https://management.example.test/moved"


async def test_redirects_are_bounded() -> None:
    service = FakeService([httpx.Response(307, headers={"Location": "https://other.example.test/loop"})])

    with pytest.raises(errors.PermanentError, match="redirects"):
        await _upgrade(service)

    assert len(service.requests) == 6  # the first try + MAX_REDIRECTS


@pytest.mark.parametrize("location", ["http://other.example.test/plain", ""])
async def test_redirects_only_go_to_https(location: str) -> None:
    service = FakeService([httpx.Response(307, headers={"Location": location} if location else {})])

    with pytest.raises(errors.PermanentError) as caught:
        await _upgrade(service)

    assert caught.value.code == "InsecureRedirect"
    assert len(service.requests) == 1


async def test_a_gateway_error_page_is_classified_by_status() -> None:
    service = FakeService([httpx.Response(502, content=b"<html>Bad Gateway</html>"), xml(DEPLOYMENT)])

    assert await _get(service) == DEPLOYMENT


async def test_a_non_xml_error_keeps_a_short_message() -> None:
    service = FakeService([httpx.Response(400, content=b"plain words")])

    with pytest.raises(errors.PermanentError) as caught:
        await _get(service)

    assert (caught.value.code, caught.value.message) == ("", "plain words")


def test_judge_table() -> None:
    refused = errors.RetryableError(status=503, code="ServerBusy", message="")
    internal = errors.RetryableError(status=500, code="InternalError", message="")
    transport = errors.TransportError("ConnectError")
    conflict = errors.ConflictError(status=409, code="ConflictError", message="")

    assert retry.judge(refused, mutating=True) is retry.Verdict.RESEND
    assert retry.judge(internal, mutating=False) is retry.Verdict.RESEND
    assert retry.judge(internal, mutating=True) is retry.Verdict.OUTCOME_UNKNOWN
    assert retry.judge(transport, mutating=True) is retry.Verdict.RESEND
    assert retry.judge(conflict, mutating=False) is retry.Verdict.RAISE
