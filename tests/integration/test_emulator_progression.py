"""State progression: upgrades across upgrade domains in each mode, instance state sequences,
locks, RollbackAllowed, rollback exactness, instance count changes, cycling and failing packages.

Most tests run on a frozen clock with 1-second steps and move time by hand, so every intermediate
state is observed exactly and nothing sleeps; a few run with timings 0 (everything completes by
the next request) and one with a few-millisecond real-time step.
"""

from __future__ import annotations

import pytest

from controller.azure import wire
from controller.emulator import control
from controller.emulator.clock import Clock
from controller.emulator.server import EmulatorServer
from controller.emulator.timings import Timings

pytest.register_assert_rewrite("tests.emulator_fixtures")  # before the import below
pytest_plugins = ["tests.emulator_fixtures"]

from tests.emulator_fixtures import (  # noqa: E402
    PACKAGE_V1,
    PACKAGE_V2,
    SERVICE,
    SUBSCRIPTION,
    Sm,
    change_configuration_body,
    create_deployment_body,
    cscfg,
    eventually,
    rollback_body,
    upgrade_body,
)

DEPLOYMENT = f"/services/hostedservices/{SERVICE}/deploymentslots/production"
STEP = Timings(accept_seconds=1, instance_step_seconds=1, upgrade_domain_seconds=1, health_timeout_seconds=10)
RESTART = ["StoppingRole", "StoppedVM", "StartingVM", "StartingRole", "BusyRole", "ReadyRole"]


@pytest.fixture
def timings() -> Timings:
    return STEP


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=True)


@pytest.fixture
def seeded(emulator: EmulatorServer, sm: Sm) -> Sm:
    """A running deployment created in its steady state: WebRole1 x4, WorkerRole1 x2 over 4 UDs."""
    seed_deployment(emulator)
    return sm


def seed_deployment(emulator: EmulatorServer, **roles: int) -> None:
    deployment = control.DeploymentSeed(
        name="web-1",
        package_url=PACKAGE_V1,
        configuration=cscfg(**(roles or {"WebRole1": 4, "WorkerRole1": 2})),
        label="web-1",
        extended_properties={"Owner": "shop"},
    )
    emulator.control.seed(
        control.Seed(hosted_services=[control.HostedServiceSeed(name=SERVICE, deployments=[deployment])])
    )


def tick(emulator: EmulatorServer, seconds: float = 1.0) -> None:
    emulator.state.clock.advance(seconds)


def upgrade_state(deployment: wire.Deployment) -> tuple[str, str, int] | None:
    status = deployment.upgrade_status
    if status is None:
        return None
    return status.upgrade_type, status.current_upgrade_domain_state, status.current_upgrade_domain


def statuses(deployment: wire.Deployment, *names: str) -> list[str]:
    by_name = {inst.instance_name: inst.instance_status for inst in deployment.role_instance_list}
    return [by_name[name] for name in names]


async def test_an_auto_upgrade_walks_the_domains_by_itself(emulator: EmulatorServer, seeded: Sm) -> None:
    request_id = await seeded.accepted(await seeded.upgrade(upgrade_body(mode="Auto", label="web-2")))
    trace = []
    for _ in range(26):
        deployment = await seeded.deployment()
        trace.append(
            (
                deployment.status,
                upgrade_state(deployment),
                deployment.locked,
                deployment.rollback_allowed,
                statuses(deployment, "WebRole1_IN_0", "WorkerRole1_IN_0", "WebRole1_IN_1", "WebRole1_IN_3"),
            )
        )
        assert deployment.label_text == "web-2"  # the new label shows at once
        tick(emulator)
    ready = ["ReadyRole"] * 4
    assert trace[0] == ("RunningTransitioning", ("Auto", "Before", 0), True, True, ready)
    # Domain 0: both of its instances step through the restart sequence together.
    for step, state in enumerate(RESTART[:-1], start=1):
        assert trace[step] == (
            "RunningTransitioning",
            ("Auto", "During", 0),
            False,
            True,
            [state, state, *ready[:2]],
        )
    assert trace[6][1:] == (("Auto", "Before", 1), False, True, ready)
    assert trace[7][1] == ("Auto", "During", 1)
    assert trace[7][4] == ["ReadyRole", "ReadyRole", "StoppingRole", "ReadyRole"]
    assert [entry[1] for entry in trace[12:14]] == [("Auto", "Before", 2), ("Auto", "During", 2)]
    assert [entry[1] for entry in trace[18:20]] == [("Auto", "Before", 3), ("Auto", "During", 3)]
    assert trace[18][3] is True
    assert trace[19][3] is False  # every instance touched: nothing left to roll back
    assert trace[23][4][3] == "BusyRole"
    assert trace[24] == ("Running", None, False, False, ready)
    operation = await seeded.operation(request_id)
    assert operation.status == "Succeeded"
    assert all(entry[1] is None for entry in trace[24:])


async def test_a_manual_upgrade_moves_only_when_walked(emulator: EmulatorServer, seeded: Sm) -> None:
    request_id = await seeded.accepted(await seeded.upgrade(upgrade_body(mode="Manual")))
    assert (await seeded.operation(request_id)).status == "InProgress"
    tick(emulator)
    assert (await seeded.operation(request_id)).status == "Succeeded"  # registered: that is all it does
    tick(emulator, 60)
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) == ("Manual", "Before", 0)
    assert deployment.locked is False  # waiting for walks is not exclusive
    assert set(statuses(deployment, "WebRole1_IN_0", "WebRole1_IN_1")) == {"ReadyRole"}
    for domain in range(4):
        walk_id = await seeded.accepted(await seeded.walk(domain))
        assert (await seeded.deployment()).locked is True
        assert (await seeded.walk(domain)).status_code == 409
        tick(emulator)
        assert upgrade_state(await seeded.deployment()) == ("Manual", "During", domain)
        tick(emulator, 4)
        assert (await seeded.operation(walk_id)).status == "InProgress"
        tick(emulator)
        assert (await seeded.operation(walk_id)).status == "Succeeded"
        expected = None if domain == 3 else ("Manual", "Before", domain + 1)
        assert upgrade_state(await seeded.deployment()) == expected
    deployment = await seeded.deployment()
    assert deployment.status == "Running"
    assert {inst.instance_status for inst in deployment.role_instance_list} == {"ReadyRole"}


async def test_a_simultaneous_upgrade_restarts_every_domain_at_once(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    request_id = await seeded.accepted(await seeded.upgrade(upgrade_body(mode="Simultaneous")))
    tick(emulator)
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) == ("Simultaneous", "During", 0)
    assert {inst.instance_status for inst in deployment.role_instance_list} == {"StoppingRole"}
    tick(emulator, 5)
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) is None
    assert {inst.instance_status for inst in deployment.role_instance_list} == {"ReadyRole"}
    assert (await seeded.operation(request_id)).status == "Succeeded"


@pytest.mark.parametrize("timings", [Timings.instant()])
@pytest.mark.parametrize("mode", ["Auto", "Simultaneous", "Manual"])
async def test_with_timings_0_everything_completes_by_the_next_request(seeded: Sm, mode: str) -> None:
    request_id = await seeded.accepted(await seeded.upgrade(upgrade_body(mode=mode)))
    assert (await seeded.operation(request_id)).status == "Succeeded"
    if mode == "Manual":
        for domain in range(4):
            walk_id = await seeded.accepted(await seeded.walk(domain))
            assert (await seeded.operation(walk_id)).status == "Succeeded"
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) is None
    assert deployment.status == "Running"
    assert {inst.instance_status for inst in deployment.role_instance_list} == {"ReadyRole"}


@pytest.mark.parametrize(
    "timings", [Timings(accept_seconds=0.01, instance_step_seconds=0.005, upgrade_domain_seconds=0.005)]
)
@pytest.mark.parametrize("clock", [Clock()])
async def test_with_a_small_real_step_an_auto_upgrade_finishes_on_its_own(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    request_id = await seeded.accepted(await seeded.upgrade(upgrade_body()))
    await eventually(seeded.deployment, lambda deployment: deployment.upgrade_status is None)
    assert (await seeded.operation(request_id)).status == "Succeeded"
    record = emulator.state.operations.get(SUBSCRIPTION, request_id)
    assert record.completed is not None
    # Transitions happen at their due times, however late anyone looks: accept, then 4 domains of
    # 5 steps, with a pause between domains.
    assert record.completed - record.started == pytest.approx(0.01 + 4 * 5 * 0.005 + 3 * 0.005, abs=1e-4)


async def test_an_exclusive_lock_gives_409_and_a_new_upgrade_may_replace_a_rolling_one(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    first = await seeded.accepted(await seeded.upgrade(upgrade_body(label="web-2")))
    conflict = await seeded.upgrade(upgrade_body(label="web-3"))
    assert conflict.status_code == 409
    assert wire.parse(wire.Error, conflict.content) == wire.Error(
        code="ConflictError",
        message="Windows Azure is currently performing an operation on this deployment "
        "that requires exclusive access.",
    )
    reimage = await seeded.post(
        f"/services/hostedservices/{SERVICE}/deploymentslots/production/roleinstances/WebRole1_IN_0?comp=reimage"
    )
    assert reimage.status_code == 409
    tick(emulator, 3)  # accepted, domain 0 rolling: not Locked, so a new update may replace it
    assert (await seeded.deployment()).locked is False
    second = await seeded.accepted(await seeded.upgrade(upgrade_body(label="web-3")))
    superseded = await seeded.operation(first)
    assert superseded.status == "Failed"
    assert superseded.error is not None
    assert superseded.error.code == "ConflictError"
    tick(emulator, 60)
    assert (await seeded.operation(second)).status == "Succeeded"
    assert (await seeded.deployment()).label_text == "web-3"


async def test_instance_operations_wait_for_a_pending_update(emulator: EmulatorServer, seeded: Sm) -> None:
    await seeded.upgrade(upgrade_body(mode="Manual"))
    tick(emulator)
    response = await seeded.post(
        f"/services/hostedservices/{SERVICE}/deployments/web-1/roleinstances/WebRole1_IN_0?comp=reboot"
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("comp", "sequence"),
    [
        ("reboot", RESTART),
        (
            "reimage",
            [
                "StoppingRole",
                "StoppedVM",
                "StartingVM",
                "CreatingRole",
                "StartingRole",
                "BusyRole",
                "ReadyRole",
            ],
        ),
        (
            "rebuild&resources=allLocalDrives",
            [
                "StoppingRole",
                "StoppedVM",
                "StartingVM",
                "CreatingRole",
                "StartingRole",
                "BusyRole",
                "ReadyRole",
            ],
        ),
    ],
)
async def test_instance_operations_step_through_their_states_while_locked(
    emulator: EmulatorServer, seeded: Sm, comp: str, sequence: list[str]
) -> None:
    path = f"{DEPLOYMENT}/roleinstances/WebRole1_IN_1?comp={comp}"
    request_id = await seeded.accepted(await seeded.post(path))
    observed = []
    for _ in sequence:
        deployment = await seeded.deployment()
        observed.append(statuses(deployment, "WebRole1_IN_1")[0])
        assert statuses(deployment, "WebRole1_IN_0") == ["ReadyRole"]
        assert deployment.locked is (observed[-1] != "ReadyRole")
        if observed[-1] != "ReadyRole":
            assert (await seeded.operation(request_id)).status == "InProgress"
            assert (await seeded.post(path)).status_code == 409
        tick(emulator)
    assert observed == sequence
    assert (await seeded.operation(request_id)).status == "Succeeded"


async def test_rollback_returns_exactly_to_the_previous_version(emulator: EmulatorServer, seeded: Sm) -> None:
    before = await seeded.deployment()
    new_configuration = cscfg(WebRole1=6, WorkerRole1=1)
    body = upgrade_body(
        mode="Manual", configuration=new_configuration, label="web-2", properties={"Owner": None, "Tier": "2"}
    )
    await seeded.upgrade(body)
    tick(emulator)
    during = await seeded.deployment()
    assert during.configuration_text == new_configuration
    assert during.extended_properties_dict == {"Tier": "2"}
    assert [i.instance_name for i in during.role_instance_list if i.role_name == "WorkerRole1"] == [
        "WorkerRole1_IN_0"
    ]
    assert statuses(during, "WebRole1_IN_4", "WebRole1_IN_5")[0] != "ReadyRole"  # being created
    assert during.upgrade_domain_count == 5
    for domain in range(2):
        await seeded.accepted(await seeded.walk(domain))
        tick(emulator, 7)
    assert upgrade_state(await seeded.deployment()) == ("Manual", "Before", 2)
    rollback_id = await seeded.accepted(await seeded.rollback(rollback_body(mode="Auto")), status=200)
    rolling = await seeded.deployment()
    assert rolling.label_text == "web-1"
    assert rolling.configuration_text == before.configuration_text
    assert rolling.extended_properties_dict == {"Owner": "shop"}
    assert rolling.rollback_allowed is False
    assert upgrade_state(rolling) == ("Auto", "Before", 0)
    tick(emulator)
    rolling = await seeded.deployment()
    assert statuses(rolling, "WebRole1_IN_0", "WebRole1_IN_2") == [
        "StoppingRole",
        "ReadyRole",
    ]  # UD 2 was never updated
    tick(emulator, 60)
    after = await seeded.deployment()
    assert (await seeded.operation(rollback_id)).status == "Succeeded"
    keep = (
        "label",
        "configuration",
        "extended_properties",
        "upgrade_status",
        "status",
        "upgrade_domain_count",
        "rollback_allowed",
        "locked",
    )
    assert {key: getattr(after, key) for key in keep} == {key: getattr(before, key) for key in keep}
    assert [(i.instance_name, i.instance_status) for i in after.role_instance_list] == [
        (i.instance_name, i.instance_status) for i in before.role_instance_list
    ]


async def test_rollback_is_refused_once_every_instance_runs_the_new_version(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    await seeded.upgrade(upgrade_body())
    tick(emulator, 19)  # the last domain is being processed
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) == ("Auto", "During", 3)
    assert deployment.rollback_allowed is False
    response = await seeded.rollback()
    assert response.status_code == 400
    assert wire.parse(wire.Error, response.content).code == "BadRequest"


async def test_a_manual_rollback_is_walked_and_cannot_itself_be_rolled_back(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    await seeded.upgrade(upgrade_body(mode="Auto"))
    tick(emulator, 7)  # domain 0 done, domain 1 starting
    await seeded.accepted(await seeded.rollback(rollback_body(mode="Manual")), status=200)
    tick(emulator)
    assert upgrade_state(await seeded.deployment()) == ("Manual", "Before", 0)
    assert (await seeded.rollback()).status_code == 400
    for domain in range(4):
        walk_id = await seeded.accepted(await seeded.walk(domain))
        tick(emulator, 7)
        assert (await seeded.operation(walk_id)).status == "Succeeded"
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) is None
    assert deployment.label_text == "web-1"
    assert {i.instance_status for i in deployment.role_instance_list} == {"ReadyRole"}


async def test_scaling_in_removes_instances_and_domains(emulator: EmulatorServer, seeded: Sm) -> None:
    response = await seeded.post(
        f"/services/hostedservices/{SERVICE}/deploymentslots/production/?comp=config",
        change_configuration_body(cscfg(WebRole1=2, WorkerRole1=2)),
    )
    await seeded.accepted(response)
    deployment = await seeded.deployment()
    assert [i.instance_name for i in deployment.role_instance_list] == [
        "WebRole1_IN_0",
        "WebRole1_IN_1",
        "WorkerRole1_IN_0",
        "WorkerRole1_IN_1",
    ]
    assert deployment.upgrade_domain_count == 2
    tick(emulator, 20)
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) is None


async def test_deleting_a_deployment_mid_update_fails_the_update(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    upgrade_id = await seeded.accepted(await seeded.upgrade(upgrade_body()))
    tick(emulator, 3)
    delete_id = await seeded.accepted(
        await seeded.delete(f"/services/hostedservices/{SERVICE}/deploymentslots/production")
    )
    assert (await seeded.deployment()).status == "Deleting"
    assert (await seeded.operation(upgrade_id)).status == "Failed"
    tick(emulator)
    assert (await seeded.operation(delete_id)).status == "Succeeded"
    response = await seeded.get(f"/services/hostedservices/{SERVICE}/deploymentslots/production")
    assert response.status_code == 404


async def test_a_cycling_package_stalls_an_auto_upgrade_until_it_gives_up(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    emulator.control.set_package(
        control.PackageInput(package_url=PACKAGE_V2.split("?")[0], behaviour="cycling")
    )
    request_id = await seeded.accepted(await seeded.upgrade(upgrade_body()))
    tick(emulator, 6)
    deployment = await seeded.deployment()
    assert statuses(deployment, "WebRole1_IN_0", "WorkerRole1_IN_0", "WebRole1_IN_1") == [
        "RestartingRole",
        "RestartingRole",
        "ReadyRole",
    ]
    assert upgrade_state(deployment) == ("Auto", "During", 0)
    old_client = await seeded.get(
        f"/services/hostedservices/{SERVICE}/deploymentslots/production",
        headers={"x-ms-version": "2014-02-01"},
    )
    assert statuses(wire.parse(wire.Deployment, old_client.content), "WebRole1_IN_0") == ["CyclingRole"]
    tick(emulator, 9)
    assert (await seeded.operation(request_id)).status == "InProgress"
    tick(emulator, 1)
    operation = await seeded.operation(request_id)
    assert operation.status == "Failed"
    assert operation.http_status_code == 500
    assert operation.error is not None
    assert operation.error.code == "OperationTimedOut"
    assert "WebRole1_IN_0 (RestartingRole)" in operation.error.message
    deployment = await seeded.deployment()
    assert deployment.status == "RunningTransitioning"
    assert deployment.rollback_allowed is True
    rollback_id = await seeded.accepted(await seeded.rollback(), status=200)
    tick(emulator, 60)
    assert (await seeded.operation(rollback_id)).status == "Succeeded"
    deployment = await seeded.deployment()
    assert {i.instance_status for i in deployment.role_instance_list} == {"ReadyRole"}
    assert upgrade_state(deployment) is None


async def test_a_cycling_package_in_manual_mode_leaves_the_judgement_to_the_walker(
    emulator: EmulatorServer, seeded: Sm
) -> None:
    emulator.control.set_package(control.PackageInput(package_url=PACKAGE_V2, behaviour="cycling"))
    await seeded.upgrade(upgrade_body(mode="Manual"))
    tick(emulator)
    walk_id = await seeded.accepted(await seeded.walk(0))
    tick(emulator, 7)
    assert (await seeded.operation(walk_id)).status == "Succeeded"
    deployment = await seeded.deployment()
    assert upgrade_state(deployment) == ("Manual", "Before", 1)
    assert statuses(deployment, "WebRole1_IN_0") == ["RestartingRole"]


@pytest.mark.parametrize("mode", ["Auto", "Simultaneous", "Manual"])
async def test_a_failing_package_fails_the_update_on_the_first_domain(
    emulator: EmulatorServer, seeded: Sm, mode: str
) -> None:
    emulator.control.set_package(
        control.PackageInput(
            package_url=PACKAGE_V2, behaviour="failing", error_code="RoleStartupFailed", error_message="boom"
        )
    )
    request_id = await seeded.accepted(await seeded.upgrade(upgrade_body(mode=mode)))
    tick(emulator)
    failed_id = request_id
    if mode == "Manual":
        assert (await seeded.operation(request_id)).status == "Succeeded"
        failed_id = await seeded.accepted(await seeded.walk(0))
        tick(emulator)
    tick(emulator, 5)
    operation = await seeded.operation(failed_id)
    assert (operation.status, operation.http_status_code) == ("Failed", 400)
    assert operation.error == wire.OperationError(code="RoleStartupFailed", message="boom")
    deployment = await seeded.deployment()
    assert statuses(deployment, "WebRole1_IN_0")[0] == "FailedStartingRole"
    if mode != "Simultaneous":
        assert statuses(deployment, "WebRole1_IN_1") == ["ReadyRole"]  # later domains untouched
    assert deployment.rollback_allowed is True
    assert (await seeded.walk(1)).status_code == 400
    tick(emulator, 60)
    assert upgrade_state(await seeded.deployment()) is not None  # halted, not finished
    rollback_id = await seeded.accepted(await seeded.rollback(), status=200)
    tick(emulator, 60)
    assert (await seeded.operation(rollback_id)).status == "Succeeded"
    assert {i.instance_status for i in (await seeded.deployment()).role_instance_list} == {"ReadyRole"}


async def test_a_new_deployment_starts_its_instances(emulator: EmulatorServer, sm: Sm) -> None:
    await sm.create_service()
    path = f"/services/hostedservices/{SERVICE}/deploymentslots/staging"
    request_id = await sm.accepted(
        await sm.post(path, create_deployment_body(configuration=cscfg(WebRole1=1)))
    )
    observed = []
    for _ in range(7):
        deployment = await sm.deployment(slot="staging")
        [instance] = deployment.role_instance_list
        observed.append((instance.instance_status, instance.power_state))
        tick(emulator)
    assert observed == [
        ("RoleStateUnknown", "Starting"),
        ("CreatingVM", "Starting"),
        ("StartingVM", "Starting"),
        ("CreatingRole", "Starting"),
        ("StartingRole", "Starting"),
        ("BusyRole", "Started"),
        ("ReadyRole", "Started"),
    ]
    assert (await sm.operation(request_id)).status == "Succeeded"
    assert deployment.upgrade_domain_count == 1
