"""Value rules: .cscfg parsing, labels, extended properties, versions, timings and the clock."""

from __future__ import annotations

import datetime

import pytest

from controller.azure import wire
from controller.emulator import cscfg, errors, validation, versions
from controller.emulator.clock import Clock, timestamp
from controller.emulator.timings import Timings

NS = cscfg.NAMESPACE


def config(body: str, root_attributes: str = f'xmlns="{NS}"') -> str:
    return f"<ServiceConfiguration {root_attributes}>{body}</ServiceConfiguration>"


def test_a_configuration_declares_roles_and_instance_counts_in_order() -> None:
    parsed = cscfg.parse(
        config(
            '<Role name="Web"><Instances count="3"/><ConfigurationSettings/></Role>'
            '<Role name="Worker"><Instances count="1"/></Role>'
        )
    )
    assert [(role.name, role.instance_count) for role in parsed.roles] == [("Web", 3), ("Worker", 1)]
    assert parsed.os_version.startswith("WA-GUEST-OS-6.")
    assert parsed.role("web") is not None


@pytest.mark.parametrize(
    "text",
    [
        "not xml",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><ServiceConfiguration xmlns="' + NS + '"/>',
        # no namespace:
        "<ServiceConfiguration><Role name='Web'><Instances count='1'/></Role></ServiceConfiguration>",
        config(""),
        config('<Role name="Web"><Instances count="0"/></Role>'),
        config('<Role name="Web"><Instances count="two"/></Role>'),
        config('<Role name="Web"><Instances count="1001"/></Role>'),
        config('<Role name="Web"></Role>'),
        config('<Role><Instances count="1"/></Role>'),
        config(
            '<Role name="Web"><Instances count="1"/></Role><Role name="web"><Instances count="1"/></Role>'
        ),
    ],
)
def test_an_invalid_configuration_is_a_bad_request(text: str) -> None:
    with pytest.raises(errors.BadRequest, match="not a valid service configuration"):
        cscfg.parse(text)


def test_labels_are_base64_and_at_most_100_characters() -> None:
    assert validation.label(wire.b64encode_text("é" * 100)) == "é" * 100
    with pytest.raises(errors.BadRequest, match="100"):
        validation.label(wire.b64encode_text("x" * 101))
    with pytest.raises(errors.BadRequest, match="base-64"):
        validation.label("not base64!")
    with pytest.raises(errors.BadRequest, match="empty"):
        validation.label("")


def properties(**values: str | None) -> list[wire.ExtendedProperty]:
    return [wire.ExtendedProperty(name=name, value=value) for name, value in values.items()]


def test_extended_properties_rules() -> None:
    assert validation.extended_properties(properties(Owner="ops", Gone=None), 25) == {
        "Owner": "ops",
        "Gone": None,
    }
    for bad in ["1st", "has-dash", "has space", "_x", "x" * 65, ""]:
        with pytest.raises(errors.BadRequest, match="name"):
            validation.extended_properties([wire.ExtendedProperty(name=bad, value="v")], 25)
    with pytest.raises(errors.BadRequest, match="255"):
        validation.extended_properties(properties(Long="v" * 256), 25)
    with pytest.raises(errors.BadRequest, match="more than once"):
        validation.extended_properties([*properties(A="1"), *properties(a="2")], 25)
    with pytest.raises(errors.BadRequest, match="At most 25"):
        validation.extended_properties(properties(**{f"P{i}": "v" for i in range(26)}), 25)
    assert len(validation.extended_properties(properties(**{f"P{i}": "v" for i in range(25)}), 25)) == 25


def test_extended_properties_merge_by_name_and_null_deletes() -> None:
    merged = validation.merge_properties(
        {"Owner": "a", "Keep": "k"}, {"owner": "b", "Keep": None, "New": "n"}
    )
    assert merged == {"owner": "b", "New": "n"}


def test_version_header_parsing() -> None:
    assert versions.parse("2014-10-01") == datetime.date(2014, 10, 1)
    for bad in [None, "", "2014-1-01", "2014-13-01", "latest", "2014-10-01x"]:
        with pytest.raises(errors.MissingOrIncorrectVersionHeader):
            versions.parse(bad)
    with pytest.raises(errors.MissingOrIncorrectVersionHeader):
        versions.require(versions.V2011_06_01, versions.V2011_10_01, "RollbackUpdateOrUpgrade")
    with pytest.raises(errors.BadRequest, match="Simultaneous"):
        versions.require_element(versions.V2011_10_01, versions.V2012_12_01, "Mode=Simultaneous")


def test_timings_are_validated_and_updated_by_their_json_names() -> None:
    timings = Timings().updated({"instanceStepSeconds": 0.5})
    assert timings.instance_step_seconds == 0.5
    assert timings.to_json()["instanceStepSeconds"] == 0.5
    with pytest.raises(ValueError, match="unknown"):
        timings.updated({"stepSeconds": 1})
    with pytest.raises(ValueError, match=">= 0"):
        timings.updated({"acceptSeconds": -1})
    with pytest.raises(ValueError, match=">= 0"):
        timings.updated({"acceptSeconds": "1"})


def test_a_frozen_clock_moves_only_when_advanced() -> None:
    clock = Clock(frozen=True, start=1_455_845_583.0)
    assert timestamp(clock.now()) == "2016-02-19T01:33:03Z"
    clock.advance(2)
    assert clock.now() == 1_455_845_585.0
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    clock.freeze(False)
    assert not clock.frozen
    assert clock.now() >= 1_455_845_585.0
