"""Following request ids (Get Operation Status) and listing what the service did."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qsl

import httpx
import pytest

from controller.azure import errors, operations, wire
from tests.azure_fixtures import REQUEST_ID, SUBSCRIPTION, FakeService, SleepRecorder, make_client, xml

pytestmark = pytest.mark.looptime

DASHED = wire.dashed_request_id(REQUEST_ID)
IN_PROGRESS = wire.Operation(id=DASHED, status=wire.IN_PROGRESS)
SUCCEEDED = wire.Operation(id=DASHED, status=wire.SUCCEEDED, http_status_code=200)
FAILED = wire.Operation(
    id=DASHED,
    status=wire.FAILED,
    http_status_code=400,
    error=wire.OperationError(code="BadRequest", message="The package is invalid."),
)


async def test_wait_polls_until_the_operation_finishes(looptime: float) -> None:
    service = FakeService([xml(IN_PROGRESS), xml(IN_PROGRESS), xml(SUCCEEDED)])
    sleep = SleepRecorder()

    async with make_client(service, sleep=sleep) as azure:
        operation = await azure.wait_for_operation(request_id=REQUEST_ID, poll_interval=5.0, timeout=60.0)

    assert operation == SUCCEEDED
    assert sleep.delays == [5.0, 5.0]
    assert looptime == 10.0
    assert all(r.url.path == f"/{SUBSCRIPTION}/operations/{REQUEST_ID}" for r in service.requests)


async def test_wait_returns_a_failed_operation_with_its_error() -> None:
    async with make_client(FakeService([xml(IN_PROGRESS), xml(FAILED)])) as azure:
        operation = await azure.wait_for_operation(request_id=REQUEST_ID, poll_interval=1.0, timeout=60.0)

    assert operation.status == wire.FAILED
    assert operation.error == FAILED.error


async def test_wait_can_raise_on_failure() -> None:
    async with make_client(FakeService([xml(FAILED)])) as azure:
        with pytest.raises(errors.OperationFailedError) as caught:
            await azure.wait_for_operation(
                request_id=REQUEST_ID, poll_interval=1.0, timeout=60.0, raise_on_failure=True
            )

    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "BadRequest",
        "The package is invalid.",
    )
    assert caught.value.request_id == REQUEST_ID


async def test_wait_gives_up_after_the_timeout(looptime: float) -> None:
    service = FakeService([xml(IN_PROGRESS)])

    async with make_client(service) as azure:
        with pytest.raises(errors.OperationTimeoutError) as caught:
            await azure.wait_for_operation(request_id=REQUEST_ID, poll_interval=4.0, timeout=10.0)

    assert caught.value.last_status == wire.IN_PROGRESS
    assert caught.value.waited == pytest.approx(10.0)
    assert looptime == pytest.approx(10.0)
    assert len(service.requests) == 4  # at 0, 4, 8 and 10 seconds


async def test_an_unknown_status_keeps_polling() -> None:
    odd = wire.Operation(id=DASHED, status="Cancelling")
    service = FakeService([xml(odd), xml(SUCCEEDED)])

    async with make_client(service) as azure:
        assert (
            await azure.wait_for_operation(request_id=REQUEST_ID, poll_interval=1.0, timeout=60.0)
            == SUCCEEDED
        )


async def test_polling_survives_transient_read_failures() -> None:
    service = FakeService([xml(IN_PROGRESS), httpx.ReadTimeout, httpx.Response(503), xml(SUCCEEDED)])

    async with make_client(service) as azure:
        assert (
            await azure.wait_for_operation(request_id=REQUEST_ID, poll_interval=1.0, timeout=60.0)
            == SUCCEEDED
        )


def _page(operation_ids: list[str], token: str | None) -> httpx.Response:
    page = wire.SubscriptionOperationCollection(
        subscription_operations=[
            wire.SubscriptionOperation(
                operation_id=operation_id,
                operation_object_id=f"/{SUBSCRIPTION}/services/hostedservices/contoso-web",
                operation_name="UpgradeDeployment",
                operation_status=wire.OperationStatus(id=operation_id, status=wire.SUCCEEDED),
            )
            for operation_id in operation_ids
        ],
        continuation_token=token,
    )
    return xml(page)


async def test_listing_follows_continuation_tokens() -> None:
    service = FakeService([_page(["a", "b"], "t1"), _page(["c"], "t2"), _page([], None)])
    start = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    object_id = f"/{SUBSCRIPTION}/services/hostedservices/contoso-web"

    async with make_client(service) as azure:
        found = await azure.list_subscription_operations(
            start=start, end=start + datetime.timedelta(hours=1), object_id=object_id, result="InProgress"
        )

    assert [operation.operation_id for operation in found] == ["a", "b", "c"]
    queries = [dict(parse_qsl(r.url.query.decode())) for r in service.requests]
    assert queries[0] == {
        "StartTime": "2026-01-02T03:04:05Z",
        "EndTime": "2026-01-02T04:04:05Z",
        "ObjectIdFilter": object_id,
        "OperationResultFilter": "InProgress",
    }
    assert [query.get("ContinuationToken") for query in queries] == [None, "t1", "t2"]
    assert all(r.url.path == f"/{SUBSCRIPTION}/operations" for r in service.requests)
    assert all(r.headers["x-ms-version"] == "2014-10-01" for r in service.requests)


async def test_a_listing_is_complete_or_an_error() -> None:
    service = FakeService([_page(["a"], "same")])

    async with make_client(service) as azure:
        with pytest.raises(errors.MalformedResponseError, match="repeated"):
            await azure.list_subscription_operations(
                start=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                end=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
            )

    assert len(service.requests) == 2


async def test_listing_stops_at_the_page_bound() -> None:
    tokens = iter(range(1000))
    service = FakeService([lambda request: _page(["x"], f"t{next(tokens)}")])

    async with make_client(service) as azure:
        with pytest.raises(errors.MalformedResponseError, match="pages"):
            await azure.list_subscription_operations(
                start=datetime.datetime(2026, 1, 1), end=datetime.datetime(2026, 1, 2), max_pages=3
            )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime.datetime(2026, 5, 6, 7, 8, 9), "2026-05-06T07:08:09Z"),  # naive = UTC
        (
            datetime.datetime(2026, 5, 6, 9, 8, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
            "2026-05-06T07:08:09Z",
        ),
    ],
)
def test_format_time(moment: datetime.datetime, expected: str) -> None:
    assert operations.format_time(moment) == expected


async def test_wait_rejects_a_non_positive_interval() -> None:
    async def never() -> wire.Operation:
        raise AssertionError

    with pytest.raises(ValueError, match="poll_interval"):
        await operations.wait(
            never, request_id="r", poll_interval=0, timeout=1, sleep=SleepRecorder(), clock=lambda: 0.0
        )
