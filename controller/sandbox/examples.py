"""The examples from `deploy/examples/`, made to run against the sandbox's emulator.

The sandbox applies the very files a user reads, with the only changes a user would make to
point them at a private endpoint: the credentials Secret gets the emulator's management
certificate, key and CA, and each resource's `spec.endpoint` becomes the emulator URL. Every
rewrite is returned as a sentence so the sandbox can say on screen what it changed.

The same files also tell what to seed in the emulator: one running deployment per resource,
with the resource's package, configuration and label, so the examples start in sync.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controller import assets
from controller.emulator import cscfg
from controller.emulator import errors as emulator_errors
from controller.models import spec as specs
from controller.reconcile import canonical, digests
from controller.sandbox.kube import JsonObject

CSD_KIND = "CloudServiceDeployment"
# Apply order: what a resource refers to exists before the resource.
_KIND_ORDER = {"Namespace": 0, "Secret": 1, "ConfigMap": 2, CSD_KIND: 3}
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\s*", re.DOTALL)


class ExamplesError(Exception):
    """The examples directory is missing or does not hold what the sandbox needs."""


@dataclass(frozen=True)
class DeploymentSeed:
    """A running deployment the emulator starts with, matching (or, for Observe, preceding) a resource."""

    resource: str
    subscription_id: str
    service: str
    slot: str | None
    deployment_name: str | None
    package_url: str
    configuration: str
    label: str
    extended_properties: Mapping[str, str]
    # Set for a deployment the operator deployed earlier: the `CsoAppliedDigest` it writes with
    # every upgrade (Get Deployment does not return the package URL; this property stands in).
    applied_digest: str | None = None

    def deployed_properties(self) -> dict[str, str]:
        properties = dict(self.extended_properties)
        if self.applied_digest is not None:
            properties[specs.APPLIED_DIGEST_PROPERTY] = self.applied_digest
        return properties


def default_directory() -> Path:
    """`deploy/examples/` of this installation (the source tree, or the wheel's data files)."""
    return assets.examples_dir()


def load(directory: Path) -> list[JsonObject]:
    """Every object of every YAML file in the directory (kustomization files aside), in apply order."""
    if not directory.is_dir():
        raise ExamplesError(f"the examples directory {directory} does not exist")
    manifests: list[JsonObject] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("kustomization"):
            continue
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as error:
            raise ExamplesError(f"{path} is not valid YAML: {error}") from error
        manifests.extend(doc for doc in documents if isinstance(doc, dict) and doc.get("kind"))
    if not any(m["kind"] == CSD_KIND for m in manifests):
        raise ExamplesError(f"{directory} holds no {CSD_KIND}")
    return sorted(manifests, key=lambda m: _KIND_ORDER.get(str(m["kind"]), 99))


def split_pem(pem: str) -> tuple[str, str]:
    """(certificate PEM, private key PEM) out of one PEM bundle holding both."""
    certificate = key = ""
    for match in _PEM_BLOCK.finditer(pem):
        if match.group(1) == "CERTIFICATE" and not certificate:
            certificate = match.group(0)
        elif match.group(1).endswith("PRIVATE KEY") and not key:
            key = match.group(0)
    if not certificate or not key:
        raise ExamplesError("the emulator's management PEM does not hold a certificate and a private key")
    return certificate, key


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret_text(secret: Mapping[str, Any], key: str) -> str | None:
    string_data = secret.get("stringData") or {}
    if key in string_data:
        return str(string_data[key])
    data = secret.get("data") or {}
    if key in data:
        return base64.b64decode(str(data[key])).decode()
    return None


def _to_data(secret: JsonObject) -> None:
    # Secrets are written as base64 `data`: that is what an API server stores (it folds
    # `stringData` into `data`), and what the controller reads back.
    string_data = secret.pop("stringData", None) or {}
    data = dict(secret.get("data") or {})
    data.update({key: _b64(str(value)) for key, value in string_data.items()})
    secret["data"] = data


def _find(manifests: Iterable[JsonObject], kind: str, namespace: str, name: str) -> JsonObject | None:
    for manifest in manifests:
        metadata = manifest.get("metadata") or {}
        if (
            manifest["kind"] == kind
            and metadata.get("name") == name
            and metadata.get("namespace") == namespace
        ):
            return manifest
    return None


def rewrite_for_emulator(
    manifests: list[JsonObject],
    *,
    endpoint: str,
    ca_pem: str,
    management_pem: Mapping[str, str],
) -> tuple[list[JsonObject], list[str]]:
    """Copies of the manifests pointed at the emulator, and what was changed, in words.

    `management_pem` maps a subscription id to the emulator's certificate + key for it.
    """
    rewritten = [copy.deepcopy(m) for m in manifests]
    notes: list[str] = []
    for manifest in rewritten:
        if manifest["kind"] == "Secret":
            _to_data(manifest)
    credentials: dict[tuple[str, str], str] = {}
    for resource in (m for m in rewritten if m["kind"] == CSD_KIND):
        spec = resource["spec"]
        namespace = resource["metadata"]["namespace"]
        old_endpoint = spec.get("endpoint") or "(default)"
        spec["endpoint"] = endpoint
        notes.append(
            f"{namespace}/{resource['metadata']['name']}: spec.endpoint {old_endpoint} -> {endpoint}"
        )
        secret_name = (spec.get("credentialsSecretRef") or {}).get("name")
        if secret_name:
            credentials[(namespace, secret_name)] = str(spec["subscriptionId"])
    for (namespace, secret_name), subscription_id in sorted(credentials.items()):
        if subscription_id not in management_pem:
            raise ExamplesError(
                f"the emulator has no management certificate for subscription {subscription_id}"
            )
        certificate, key = split_pem(management_pem[subscription_id])
        secret = _find(rewritten, "Secret", namespace, secret_name)
        if secret is None:
            secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret_name, "namespace": namespace},
                "type": "kubernetes.io/tls",
            }
            rewritten.insert(1, secret)
        secret["data"] = {"tls.crt": _b64(certificate), "tls.key": _b64(key), "ca.crt": _b64(ca_pem)}
        notes.append(
            f"Secret {namespace}/{secret_name}: tls.crt + tls.key = the emulator's management certificate"
            f" for subscription {subscription_id}, ca.crt = the emulator's CA (placeholders replaced)"
        )
    return rewritten, notes


def describe_roles(configuration: str) -> str:
    """`WebRole1 x4, WorkerRole1 x2`: the roles and instance counts of a service configuration."""
    try:
        parsed = cscfg.parse(configuration)
    except emulator_errors.EmulatorError:
        return "an unreadable configuration"
    return ", ".join(f"{role.name} x{role.instance_count}" for role in parsed.roles)


def scale_domain_gates(manifests: list[JsonObject], *, speed: float) -> tuple[list[JsonObject], list[str]]:
    """Domain-gate soak times shortened to the sandbox's pace (they are real seconds in the controller)."""
    rewritten = [copy.deepcopy(m) for m in manifests]
    notes = []
    for resource in (m for m in rewritten if m["kind"] == CSD_KIND):
        gate = (resource["spec"].get("upgrade") or {}).get("domainGate") or {}
        pause = gate.get("pauseSeconds")
        if isinstance(pause, int) and pause > 0:
            gate["pauseSeconds"] = min(pause, round(1.0 / speed))
            notes.append(
                f"{resource['metadata']['namespace']}/{resource['metadata']['name']}:"
                f" spec.upgrade.domainGate.pauseSeconds {pause} -> {gate['pauseSeconds']}"
                " (the sandbox's pace)"
            )
    return rewritten, notes


def _previous_label(label: str) -> str:
    """`ops-7` -> `ops-6`: the release an Observe example is one step ahead of."""
    match = re.search(r"(\d+)$", label)
    if match and int(match.group(1)) > 0:
        return f"{label[: match.start()]}{int(match.group(1)) - 1}"
    return f"{label}-previous"


def _package_url(resource: JsonObject, manifests: list[JsonObject]) -> str:
    package = resource["spec"]["package"]
    if "url" in package:
        return str(package["url"])
    ref = package["urlSecretRef"]
    secret = _find(manifests, "Secret", resource["metadata"]["namespace"], ref["name"])
    url = _secret_text(secret, ref["key"]) if secret is not None else None
    if url is None:
        raise ExamplesError(f"Secret {ref['name']} with key {ref['key']} is not among the examples")
    return url


def _configuration(resource: JsonObject, manifests: list[JsonObject]) -> str:
    configuration = resource["spec"]["configuration"]
    if "inline" in configuration:
        return str(configuration["inline"])
    ref = configuration["configMapRef"]
    config_map = _find(manifests, "ConfigMap", resource["metadata"]["namespace"], ref["name"])
    text = (config_map.get("data") or {}).get(ref["key"]) if config_map is not None else None
    if text is None:
        raise ExamplesError(f"ConfigMap {ref['name']} with key {ref['key']} is not among the examples")
    return str(text)


def seeds(manifests: list[JsonObject]) -> list[DeploymentSeed]:
    """One running deployment per example resource.

    Managed examples are seeded as the operator would have left them (exactly as declared, with
    its `CsoAppliedDigest`), so they converge without an upgrade. An Observe example is seeded
    as a service found in Azure: one release behind and never touched by the operator, so its
    status has a plan to show.
    """
    result = []
    for resource in (m for m in manifests if m["kind"] == CSD_KIND):
        spec = resource["spec"]
        package_url = _package_url(resource, manifests)
        configuration = _configuration(resource, manifests)
        label = str(spec.get("label") or resource["metadata"]["name"])
        properties = {str(k): str(v) for k, v in (spec.get("extendedProperties") or {}).items()}
        applied_digest = None
        if spec.get("reconcilePolicy") == "Observe":
            previous = _previous_label(label)
            package_url = package_url.replace(label, previous) if label in package_url else package_url
            label = previous
        elif not spec.get("extensionConfiguration"):
            applied_digest = _applied_digest(package_url, configuration, label, properties)
        result.append(
            DeploymentSeed(
                resource=str(resource["metadata"]["name"]),
                subscription_id=str(spec["subscriptionId"]),
                service=str(spec["serviceName"]),
                slot=spec.get("slot"),
                deployment_name=spec.get("deploymentName"),
                package_url=package_url,
                configuration=configuration,
                label=label,
                extended_properties=properties,
                applied_digest=applied_digest,
            )
        )
    return result


def _applied_digest(
    package_url: str, configuration: str, label: str, properties: Mapping[str, str]
) -> str | None:
    """The `CsoAppliedDigest` the controller would have written deploying exactly this."""
    try:
        return digests.desired_digests(
            package_url=package_url,
            configuration=configuration,
            label=label,
            extended_properties=properties,
            extension_configuration=None,
        ).spec
    except canonical.InvalidConfiguration:
        return None
