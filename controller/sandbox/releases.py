"""How the scenario edits the user's files: a new release (package and label), as a user would.

A release is a label and a package URL; a resource whose package URL lives in a Secret (SAS
URLs) gets its Secret edited too, because in Git the two change together.
"""

from __future__ import annotations

import base64
import re

from controller.sandbox import kube
from controller.sandbox.scenario import Context

CSD = "CloudServiceDeployment"


def next_label(label: str) -> str:
    """`web-42` -> `web-43`."""
    match = re.search(r"(\d+)$", label)
    if match:
        return f"{label[: match.start()]}{int(match.group(1)) + 1}"
    return f"{label}-2"


def with_label(url: str, old: str, new: str) -> str:
    """The package URL of release `new`, following the URL of release `old`."""
    if old in url:
        return url.replace(old, new)
    return re.sub(r"(\.cspkg)", f"-{new}\\1", url, count=1)


def set_release(manifest: kube.JsonObject, label: str, package_url: str | None) -> None:
    manifest["spec"]["label"] = label
    if package_url is not None:
        manifest["spec"]["package"] = {"url": package_url}


def package_secrets(context: Context, manifest: kube.JsonObject) -> list[kube.JsonObject]:
    """The Secret holding the resource's package URL, if it uses one (part of the same release)."""
    ref = manifest["spec"]["package"].get("urlSecretRef")
    return [context.manifest("Secret", ref["name"])] if ref else []


async def new_release(context: Context, name: str, *, label: str, behaviour: str | None = None) -> str:
    """Point resource `name` at release `label`: a new package (in its Secret if it uses one) and label."""
    manifest = context.manifest(CSD, name)
    spec = manifest["spec"]
    old_label = str(spec["label"])
    package = spec["package"]
    if "url" in package:
        url = with_label(str(package["url"]), old_label, label)
        if behaviour:
            await context.admin.set_package_behaviour(url, behaviour)
        set_release(manifest, label, url)
        await context.apply(manifest, say=f"  apply {name}: label {old_label} -> {label}, package {url}")
        return url
    ref = package["urlSecretRef"]
    secret = context.manifest("Secret", ref["name"])
    old_url = base64.b64decode(secret["data"][ref["key"]]).decode()
    url = with_label(old_url, old_label, label)
    if behaviour:
        await context.admin.set_package_behaviour(url, behaviour)
    secret["data"][ref["key"]] = base64.b64encode(url.encode()).decode()
    shown = url.split("?", 1)[0] + ("?<SAS signature>" if "?" in url else "")
    await context.apply(secret, say=f"  apply Secret {ref['name']}: package {shown}")
    set_release(manifest, label, None)
    await context.apply(manifest, say=f"  apply {name}: label {old_label} -> {label}")
    return url
