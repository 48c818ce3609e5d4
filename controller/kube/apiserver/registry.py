"""
The registry of served resources: the first layer of :class:`~.server.KubeApiServer`.

Which kinds are served (kmock's discovery lists them) and with which admission: the built-in
kinds always, and what each CRD declares, from the moment it is written until it is deleted or
stops declaring it (its open watches end then).
"""

import kmock

from controller.kube.apiserver import admission, crds, errors, resources, watching
from controller.kube.apiserver.admission import ObjectValidator, ValidatorFactory
from controller.kube.apiserver.resources import Body, ResourceKind


class ResourceRegistry(kmock.KubernetesEmulator):
    """
    Served kinds and their validators, kept in step with kmock's discovery (``resources``).

    One of the layers of :class:`~.server.KubeApiServer`, which sets the state declared here.
    """

    _validator_factory: ValidatorFactory
    _kinds: dict[kmock.resource, ResourceKind]
    _validators: dict[kmock.resource, ObjectValidator]
    _kinds_by_crd: dict[str, list[ResourceKind]]
    _watches: dict[kmock.resource, set[watching.Watch]]

    def _compile_crd(self, crd: Body) -> list[tuple[ResourceKind, ObjectValidator | None]]:
        """What a CRD will serve, version by version; a CRD that cannot be served is refused with 422."""
        name = crd["metadata"]["name"]
        try:
            kinds = crds.kinds_from_crd(crd)
            served = [(kind, self._validator_factory(crd, kind.version)) for kind in kinds]
        except ValueError as exc:
            raise errors.Invalid.fields(
                resources.CUSTOM_RESOURCE_DEFINITIONS, name, [admission.ApiFieldError("spec", str(exc))]
            ) from exc
        expected = f"{kinds[0].plural}.{kinds[0].group}"
        if name != expected:
            message = f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
            raise errors.Invalid.fields(
                resources.CUSTOM_RESOURCE_DEFINITIONS,
                name,
                [admission.ApiFieldError("metadata.name", message)],
            )
        return served

    def _serve_crd(self, name: str, served: list[tuple[ResourceKind, ObjectValidator | None]]) -> None:
        """Serve what a CRD declares now; stop serving what it no longer declares."""
        kept = {kind.resource for kind, _ in served}
        for kind in self._kinds_by_crd.pop(name, []):
            if kind.resource not in kept:
                self._forget_kind(kind)
        for kind, validator in served:
            self._serve_kind(kind)
            if validator is not None:
                self._validators[kind.resource] = validator
            else:
                self._validators.pop(kind.resource, None)
        if served:
            self._kinds_by_crd[name] = [kind for kind, _ in served]

    def _serve_kind(self, kind: ResourceKind) -> None:
        self._kinds[kind.resource] = kind
        self.resources[kind.resource] = kind.discovery()

    def _forget_kind(self, kind: ResourceKind) -> None:
        del self._kinds[kind.resource]
        del self.resources[kind.resource]
        self._validators.pop(kind.resource, None)
        for watch in self._watches.pop(kind.resource, set()):
            watch.close()
