"""Does the deployment differ from the spec, and how — in words a user can act on.

Get Deployment does not return the package URL, so the package can only be compared through the
`CsoAppliedDigest` extended property the controller writes with every upgrade (it covers the whole
desired content). The fields Azure does return (label, configuration, extended properties,
extensions) are compared directly as well, so a change made behind the controller's back is
seen even when it left the digest property alone.
"""

from __future__ import annotations

from controller.models.status import Applied
from controller.planning.inputs import DesiredState, ObservedDeployment

SHORT = 12


def short(digest: str | None) -> str:
    """A digest as shown to users: its first characters, or `none`."""
    return digest[:SHORT] if digest else "none"


def reasons(
    desired: DesiredState, deployment: ObservedDeployment, applied: Applied | None
) -> tuple[str, ...]:
    """Why an upgrade is needed; empty when the deployment matches the spec."""
    found: list[str] = []
    if deployment.applied_digest != desired.digests.spec:
        found.append(_digest_reason(desired, deployment, applied))
    if deployment.label != desired.label:
        found.append(f"label {deployment.label!r} -> {desired.label!r}")
    if deployment.configuration_digest != desired.digests.configuration:
        found.append("configuration differs from the desired one (compared as canonical XML)")
    if dict(deployment.extended_properties) != dict(desired.extended_properties):
        names = sorted(set(deployment.extended_properties) ^ set(desired.extended_properties)) or sorted(
            name
            for name in desired.extended_properties
            if deployment.extended_properties.get(name) != desired.extended_properties[name]
        )
        found.append(f"extended properties differ ({', '.join(names)})")
    if (
        deployment.extensions_digest is not None
        and deployment.extensions_digest != desired.digests.extensions
    ):
        found.append("extension configuration differs")
    return tuple(found)


def _digest_reason(desired: DesiredState, deployment: ObservedDeployment, applied: Applied | None) -> str:
    if deployment.applied_digest is None:
        return "the deployment carries no CsoAppliedDigest: its package is unknown to the controller"
    changed = []
    if applied is not None and applied.spec_digest == deployment.applied_digest:
        pairs = (
            ("package", applied.package_digest, desired.digests.package),
            ("configuration", applied.configuration_digest, desired.digests.configuration),
            ("label", applied.label_digest, desired.digests.label),
            ("extended properties", applied.extended_properties_digest, desired.digests.extended_properties),
            ("extensions", applied.extensions_digest, desired.digests.extensions),
        )
        changed = [name for name, before, after in pairs if before != after]
    detail = f" ({', '.join(changed)} changed)" if changed else ""
    return f"applied digest {short(deployment.applied_digest)} -> {short(desired.digests.spec)}{detail}"
