"""Canonical configurations and digests: equal content, equal digest; secrets never matter."""

from __future__ import annotations

import pytest

from controller.models import spec as specs
from controller.reconcile import canonical, digests

NS = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"
BASE = (
    f'<ServiceConfiguration serviceName="web" osFamily="6" xmlns="{NS}">'
    '<Role name="W"><Instances count="2"/></Role></ServiceConfiguration>'
)


@pytest.mark.parametrize(
    "variant",
    [
        f'<?xml version="1.0" encoding="utf-8"?>\n{BASE}',
        BASE.replace('serviceName="web" osFamily="6"', "osFamily='6' serviceName='web'"),  # order, quotes
        BASE.replace("<Role ", "\n  <!-- a comment -->\n  <Role ").replace("</Role>", "</Role>\n"),
        BASE.replace('<Instances count="2"/>', '<Instances count="2"></Instances>'),
        BASE.replace("<ServiceConfiguration", "<?pi ignored?><ServiceConfiguration"),
    ],
)
def test_formatting_differences_do_not_change_the_digest(variant: str) -> None:
    assert canonical.configuration_digest(variant) == canonical.configuration_digest(BASE)


@pytest.mark.parametrize(
    "change",
    [
        BASE.replace('count="2"', 'count="3"'),  # instance count
        BASE.replace('name="W"', 'name="X"'),
        BASE.replace(f'xmlns="{NS}"', 'xmlns="urn:other"'),
        BASE.replace(
            "</Role>", '<ConfigurationSettings><Setting name="a" value="1"/></ConfigurationSettings></Role>'
        ),
    ],
)
def test_content_differences_change_the_digest(change: str) -> None:
    assert canonical.configuration_digest(change) != canonical.configuration_digest(BASE)


@pytest.mark.parametrize(
    "bad",
    [
        "<ServiceConfiguration><Role></ServiceConfiguration>",
        "not xml at all",
        '<!DOCTYPE x [<!ENTITY e "boom">]><ServiceConfiguration>&e;</ServiceConfiguration>',
    ],
)
def test_malformed_or_unsafe_configuration_is_refused(bad: str) -> None:
    with pytest.raises(canonical.InvalidConfiguration):
        canonical.configuration_digest(bad)
    assert canonical.observed_configuration_digest(bad)  # what Azure returns still gets a digest
    assert canonical.observed_configuration_digest(bad) != canonical.configuration_digest(BASE)


def test_package_identity_drops_the_signature_but_keeps_what_names_the_blob() -> None:
    plain = "https://acct.blob.core.windows.net/pkgs/web.cspkg"
    signed = plain + "?sv=2022-11-02&sr=b&sp=r&se=2030-01-01&sig=SECRET"
    renewed = plain + "?sv=2022-11-02&sr=b&sp=r&se=2031-01-01&sig=OTHER"
    assert digests.package_identity(signed) == plain
    assert digests.package_digest(signed) == digests.package_digest(renewed) == digests.package_digest(plain)
    assert digests.package_digest(plain + "?snapshot=2024-01-01") != digests.package_digest(plain)
    assert digests.package_digest(plain.replace("web", "api")) != digests.package_digest(plain)
    assert digests.package_identity("HTTPS://ACCT.blob.core.windows.net/pkgs/web.cspkg") == plain


def test_property_and_extension_digests_ignore_order() -> None:
    assert digests.properties_digest({"a": "1", "b": "2"}) == digests.properties_digest({"b": "2", "a": "1"})
    assert digests.properties_digest({"a": "1"}) != digests.properties_digest({"a": "2"})
    one = specs.ExtensionConfiguration.model_validate(
        {
            "allRoles": [{"id": "b"}, {"id": "a", "state": "Disable"}],
            "namedRoles": [{"roleName": "W", "extensions": [{"id": "x"}]}],
        }
    )
    two = specs.ExtensionConfiguration.model_validate(
        {
            "allRoles": [{"id": "a", "state": "Disable"}, {"id": "b", "state": "Enable"}],
            "namedRoles": [{"roleName": "W", "extensions": [{"id": "x"}]}],
        }
    )
    normalize = digests.normalize_desired_extensions
    assert digests.extensions_digest(normalize(one)) == digests.extensions_digest(normalize(two))
    assert normalize(None) == ((), ())


def test_spec_digest_covers_every_part() -> None:
    base = {"package": "p", "configuration": "c", "label": "l", "extended_properties": "x", "extensions": "e"}
    reference = digests.spec_digest(**base)
    for name in base:
        assert digests.spec_digest(**{**base, name: "changed"}) != reference, name


def test_desired_digests_are_deterministic_and_sas_free() -> None:
    def build(url: str) -> str:
        return digests.desired_digests(
            package_url=url,
            configuration=BASE,
            label="web-1",
            extended_properties={"owner": "shop"},
            extension_configuration=None,
        ).spec

    assert build("https://a.blob.core.windows.net/p/w.cspkg?sig=ONE") == build(
        "https://a.blob.core.windows.net/p/w.cspkg?sig=TWO"
    )
