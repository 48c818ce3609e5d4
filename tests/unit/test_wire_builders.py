"""Friendly builders encode base64 for the caller; reprs never show a SAS query or payloads."""

from __future__ import annotations

import pytest

from controller.azure import wire

SAS_URL = (
    "https://acct.blob.core.windows.net/pkgs/web-42.cspkg?sv=2022-11-02&sr=b&se=2030-01-01&sp=r&sig=SECRET"
)


def test_upgrade_builder_encodes_label_and_configuration() -> None:
    body = wire.UpgradeDeployment.build(
        package_url=SAS_URL, configuration="<ServiceConfiguration/>", label="web-42 ✓", mode="Manual"
    )

    assert wire.b64decode_text(body.label) == "web-42 ✓"
    assert wire.b64decode_text(body.configuration) == "<ServiceConfiguration/>"
    assert body.force is False  # Force is required since 2011-10-01: always sent
    assert b"<Force>false</Force>" in body.to_bytes()
    assert body.mode == "Manual"


def test_builders_sort_extended_properties_and_keep_deletions() -> None:
    body = wire.ChangeConfiguration.build(configuration="<c/>", extended_properties={"b": "2", "a": None})

    assert [(prop.name, prop.value) for prop in body.extended_properties] == [("a", None), ("b", "2")]
    data = body.to_bytes()
    assert data.index(b"<Name>a</Name>") < data.index(b"<Name>b</Name>")


def test_create_builders_encode_labels() -> None:
    service = wire.CreateHostedService.build(service_name="contoso-web", label="Contoso", location="West US")
    deployment = wire.CreateDeployment.build(
        name="d1", package_url=SAS_URL, configuration="<c/>", label="first"
    )

    assert wire.b64decode_text(service.label) == "Contoso"
    assert wire.b64decode_text(deployment.label) == "first"
    assert deployment.start_deployment is True


@pytest.mark.parametrize(
    "model",
    [
        wire.UpgradeDeployment.build(package_url=SAS_URL, configuration="<c/>", label="l"),
        wire.CreateDeployment.build(name="d", package_url=SAS_URL, configuration="<c/>", label="l"),
    ],
    ids=["upgrade", "create"],
)
def test_repr_and_str_hide_the_sas_query(model: wire.Document) -> None:
    for text in (repr(model), str(model), f"{model!r}", repr([model])):
        assert "SECRET" not in text
        assert "sig=" not in text
        assert "https://acct.blob.core.windows.net/pkgs/web-42.cspkg?REDACTED" in text
    assert b"sig=SECRET" in model.to_bytes()  # the wire still carries it, of course


def test_deployment_repr_abbreviates_the_configuration() -> None:
    deployment = wire.Deployment(
        name="d",
        deployment_slot="Production",
        status="Running",
        configuration=wire.b64encode_text("<x/>" * 50),
    )

    assert wire.b64encode_text("<x/>" * 50) not in repr(deployment)
    assert "<base64," in repr(deployment)


def test_decoded_properties_of_an_empty_deployment() -> None:
    deployment = wire.Deployment(name="d", deployment_slot="Staging", status="Running")

    assert (deployment.label_text, deployment.configuration_text, deployment.extended_properties_dict) == (
        "",
        "",
        {},
    )
