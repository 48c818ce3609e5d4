"""From Get Deployment to planner input, and from a step to the request sent."""

from __future__ import annotations

from typing import Any

import pytest

from controller.azure import wire
from controller.models import spec as specs
from controller.planning import steps
from controller.reconcile import act, canonical, digests, observe
from controller.reconcile.sources import Sources

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import desired  # noqa: E402

CSCFG = (
    '<ServiceConfiguration serviceName="web" xmlns="urn:x">'
    '<Role name="W"><Instances count="2"/></Role></ServiceConfiguration>'
)
SAS = "https://acct.blob.core.windows.net/pkgs/web.cspkg?sv=1&sig=SECRET"


def wire_deployment(**fields: Any) -> wire.Deployment:
    base: dict[str, Any] = {
        "name": "d1",
        "deployment_slot": "Production",
        "status": "Running",
        "label": wire.b64encode_text("web-42"),
        "configuration": wire.b64encode_text(CSCFG),
        "role_instance_list": [
            wire.RoleInstance(
                role_name="W", instance_name="W_IN_1", instance_status="ReadyRole", instance_upgrade_domain=1
            ),
            wire.RoleInstance(
                role_name="W", instance_name="W_IN_0", instance_status="BusyRole", instance_fault_domain=1
            ),
        ],
        "upgrade_domain_count": 2,
        "extended_properties": wire.dict_to_properties(
            {"owner": "shop", "CsoAppliedDigest": "spec-42", "CsoOther": "x"}
        ),
    }
    return wire.Deployment(**{**base, **fields})


def test_get_deployment_becomes_planner_input() -> None:
    observed = observe.observed_deployment(wire_deployment())
    assert observed.label == "web-42"
    assert observed.configuration_digest == canonical.configuration_digest(CSCFG)
    assert observed.applied_digest == "spec-42"
    assert observed.extended_properties == {"owner": "shop"}  # the controller's own Cso* are not the user's
    assert observed.extensions_digest is None  # not reported: not compared
    assert observed.upgrade is None
    assert [(i.name, i.status, i.upgrade_domain, i.fault_domain) for i in observed.instances] == [
        ("W_IN_0", "BusyRole", 0, 1),
        ("W_IN_1", "ReadyRole", 1, 0),
    ]
    assert not observed.settled


def test_update_in_progress_and_extensions_are_observed() -> None:
    extensions = wire.ExtensionConfiguration(all_roles=[wire.Extension(id="rdp")])
    observed = observe.observed_deployment(
        wire_deployment(
            upgrade_status=wire.UpgradeStatus(
                upgrade_type="Manual", current_upgrade_domain_state="Before", current_upgrade_domain=1
            ),
            extension_configuration=extensions,
            locked=True,
            rollback_allowed=True,
        )
    )
    assert observed.upgrade is not None
    assert (observed.upgrade.type, observed.upgrade.current_domain, observed.upgrade.domain_state) == (
        "Manual",
        1,
        "Before",
    )
    spec_extensions = specs.ExtensionConfiguration.model_validate(
        {"allRoles": [{"id": "rdp", "state": "Enable"}]}
    )
    assert observed.extensions_digest == digests.extensions_digest(
        digests.normalize_desired_extensions(spec_extensions)
    )
    assert observed.locked
    assert observed.rollback_allowed


def test_garbage_from_the_service_still_reads_as_different() -> None:
    observed = observe.observed_deployment(wire_deployment(label="%%%", configuration="not base64"))
    assert observed.label == "%%%"
    assert observed.configuration_digest != canonical.configuration_digest(CSCFG)


def test_upgrade_request_carries_everything_and_the_applied_digest(tmp_path: Any) -> None:
    sources = Sources(credentials=None, ca_pem=None, package_url=SAS, configuration=CSCFG)  # type: ignore[arg-type]
    want = desired(extended_properties={"owner": "shop"}, role_to_upgrade="W", force=True)
    seen = observe.observed_deployment(
        wire_deployment(
            extended_properties=wire.dict_to_properties(
                {"owner": "x", "stale": "y", "CsoAppliedDigest": "old"}
            )
        )
    )
    extensions = specs.ExtensionConfiguration.model_validate(
        {
            "allRoles": [{"id": "rdp"}],
            "namedRoles": [{"roleName": "W", "extensions": [{"id": "diag", "state": "Disable"}]}],
        }
    )
    body = act.upgrade_body(steps.Upgrade("Manual", ("x",)), want, sources, extensions, seen)

    assert body.mode == "Manual"
    assert body.package_url == SAS
    assert wire.b64decode_text(body.configuration) == CSCFG
    assert wire.b64decode_text(body.label) == "web-42"
    assert body.role_to_upgrade == "W"
    assert body.force is True
    properties = {p.name: p.value for p in body.extended_properties}
    assert properties == {"owner": "shop", "stale": None, "CsoAppliedDigest": "spec-42"}  # None deletes
    assert body.extension_configuration is not None
    assert [(e.id, e.state) for e in body.extension_configuration.all_roles] == [("rdp", "Enable")]
    assert body.extension_configuration.named_roles[0].extensions[0].state == "Disable"
    assert "SECRET" not in repr(body)  # the wire model hides the query when printed
    assert act.wire_extensions(None) is None
