"""Failures stay with the resource that has them, are reported honestly, and never leak secrets."""

from __future__ import annotations

import json
import logging

import pytest

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import (  # noqa: E402
    CSDS,
    NAMESPACE,
    PACKAGE_V2,
    World,
    condition,
    is_ready,
    phase,
)


def stalled_with(reason: str):  # type: ignore[no-untyped-def]
    return lambda o: (
        condition(o, "Stalled").get("status") == "True" and condition(o, "Stalled").get("reason") == reason
    )


@pytest.mark.timeout(20)
async def test_a_broken_resource_stalls_while_another_converges(world: World) -> None:
    world.seed(label="web-1")
    world.seed(service="contoso-api", label="api-1")
    await world.start_controller()
    await world.create("broken", serviceName="contoso-api", credentialsSecretRef={"name": "missing"})
    await world.create("web")

    web = await world.wait("web", is_ready, what="web Ready")
    broken = await world.wait("broken", stalled_with("SecretNotFound"), what="broken Stalled")

    assert phase(broken) == "Failed"
    assert "Secret missing not found in namespace shop" in condition(broken, "Stalled")["message"]
    assert condition(broken, "Ready")["status"] == "False"
    assert broken["status"]["observedGeneration"] == broken["metadata"]["generation"]
    assert web["status"]["phase"] == "Ready"
    assert world.service_requests("UpgradeDeployment", "contoso-api") == []
    await world.wait_event("broken", "SecretNotFound")

    # Fixing the cause (creating the Secret) and poking the resource lets it converge.
    await world.credentials_secret("missing")
    await world.patch("broken", {"metadata": {"annotations": {"example.com/poke": "1"}}})
    await world.wait("broken", is_ready, what="broken fixed")


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"serviceName": "no-such-service"}, "DeploymentNotFound"),
        ({"configuration": {"configMapRef": {"name": "nope", "key": "x"}}}, "ConfigMapNotFound"),
        (
            {"configuration": {"inline": "<ServiceConfiguration><Role></ServiceConfiguration>"}},
            "InvalidConfiguration",
        ),
        ({"credentialsSecretRef": {"name": "garbage"}}, "InvalidCredentials"),
        ({"subscriptionId": "00000000-0000-4000-8000-00000000dead"}, "ForbiddenError"),
    ],
)
async def test_permanent_problems_stall_with_their_reason(world: World, spec: dict, reason: str) -> None:
    world.seed(label="web-1")
    await world.secret("garbage", {"tls.crt": "not a certificate", "tls.key": "not a key"})
    await world.start_controller()
    await world.create("web", **spec)

    obj = await world.wait("web", stalled_with(reason), what=reason)
    assert phase(obj) == "Failed"
    assert condition(obj, "Reconciling")["status"] == "False"
    assert world.requests() == []


@pytest.mark.timeout(20)
async def test_transient_azure_errors_are_retried_and_reported_as_reconciling(world: World) -> None:
    world.seed(label="web-1")
    world.fault("GetDeployment", "error", status=503, code="ServerBusy", message="busy", times=6)
    await world.start_controller()
    await world.create("web")
    seen: set[str] = set()

    def track(obj: dict) -> bool:
        reconciling = condition(obj, "Reconciling")
        if reconciling.get("status") == "True":
            seen.add(reconciling["reason"])
        assert condition(obj, "Stalled").get("status") != "True"
        return is_ready(obj)

    await world.wait("web", track, what="Ready after the service recovers")
    assert "AzureRetrying" in seen
    assert len(world.requests("UpgradeDeployment")) == 1


@pytest.mark.timeout(20)
async def test_conflict_from_azure_means_wait_not_fail(world: World) -> None:
    world.seed(label="web-1")
    world.fault(
        "UpgradeDeployment",
        "error",
        status=409,
        code="ConflictError",
        message="Windows Azure is currently performing an operation on this deployment",
        times=2,
    )
    await world.start_controller()
    await world.create("web")
    await world.wait("web", is_ready, what="Ready after the conflicts")
    assert [entry.status for entry in world.requests("UpgradeDeployment")] == [409, 409, 202]


@pytest.mark.timeout(20)
async def test_no_secret_reaches_status_events_annotations_or_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.seed(label="web-1")
    sas = PACKAGE_V2 + "?sv=2022-11-02&sr=b&sp=r&se=2030-01-01&sig=SECRET"
    await world.secret("pkg", {"url": sas})
    # Azure echoing request values back in an error message (the first upgrade is refused).
    world.fault(
        "UpgradeDeployment", "error", status=400, code="BadRequest", message=f"bad package {sas}", times=1
    )
    await world.start_controller()
    await world.create("web", package={"urlSecretRef": {"name": "pkg", "key": "url"}})

    refused = await world.wait("web", stalled_with("RequestRejected"), what="refused")
    assert "web-2.cspkg?REDACTED" in condition(refused, "Stalled")["message"]
    await world.patch("web", {"spec": {"label": "web-3"}})  # a new spec: tried again, succeeds
    await world.wait("web", is_ready, what="Ready")

    texts = [json.dumps((await world.http.get(CSDS)).json())]
    texts.append(json.dumps((await world.http.get(f"/api/v1/namespaces/{NAMESPACE}/events")).json()))
    texts.append(json.dumps((await world.http.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps")).json()))
    texts += [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith(("controller", "kopf"))
        and not record.name.startswith("controller.emulator")
    ]
    leaks = [text for text in texts if "SECRET" in text or "PRIVATE KEY" in text]
    assert leaks == []
    assert any("last-handled-digest" in text for text in texts[:1])  # kopf's annotation is there, as a digest
