"""The conventions every Service Management XML body shares.

One base class binds the windowsazure namespace, and one parser reads untrusted bytes safely:
the emulator parses what any client sends it and the client parses what any endpoint answers,
so both go through `parse`, which refuses DTDs and entities (no billion laughs, no XXE) and turns
every malformation into `MalformedXml`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from pydantic import ValidationError
from pydantic_xml import BaseXmlModel, element

NS = "http://schemas.microsoft.com/windowsazure"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# Some localized doc pages print the namespace as https; clients never send it, but accepting
# it (and a namespace-less body, as the documented error sample has) costs nothing.
_EQUIVALENT_NAMESPACES = frozenset({"", "https://schemas.microsoft.com/windowsazure"})
MAX_BODY_BYTES = 4 * 1024 * 1024  # a .cscfg is small; anything larger is not a real request


class MalformedXml(ValueError):
    """The bytes are not a well-formed, safe XML document of the expected shape."""


class WireModel(BaseXmlModel, nsmap={"": NS}, ns="", search_mode="unordered"):
    """Base of all wire shapes: elements in the windowsazure namespace, looked up by name.

    `search_mode="unordered"` mirrors how real clients read these documents (by local name among
    direct children), so element order never breaks parsing, while `to_xml` emits field order.
    """

    def to_bytes(self) -> bytes:
        """Serialize with an XML declaration, leaving absent (None) elements out entirely.

        Absent must mean absent on the wire: e.g. the Python client treats any `<Error>` in an
        Operation body as a failure, so an empty one must never be emitted.
        """
        xml = self.to_xml(skip_empty=True, xml_declaration=True, encoding="utf-8")
        return xml if isinstance(xml, bytes) else xml.encode("utf-8")


class Document(WireModel, nsmap={"": NS, "i": XSI}):
    """Base of root documents: they also declare the XMLSchema-instance prefix, as the service does."""

    # Fields whose values must not show in repr/str (exceptions and logs print models):
    # URLs may carry a SAS signature, base64 payloads are bulky and may embed settings secrets.
    _URL_FIELDS: ClassVar[frozenset[str]] = frozenset()
    _PAYLOAD_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in self._URL_FIELDS and isinstance(value, str):
                yield name, url_without_query(value)
            elif name in self._PAYLOAD_FIELDS and isinstance(value, str):
                yield name, f"<base64, {len(value)} chars>"
            else:
                yield name, value


def url_without_query(url: str) -> str:
    """`url` with any query (a SAS, for a blob URL) and user info replaced, for display only."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    query = "REDACTED" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, query, ""))


ModelT = TypeVar("ModelT", bound=BaseXmlModel)

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def _canonicalize_namespace(root: etree._Element) -> None:
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        qname = etree.QName(node)
        if (qname.namespace or "") in _EQUIVALENT_NAMESPACES:
            node.tag = f"{{{NS}}}{qname.localname}"


def parse_tree(data: bytes) -> etree._Element:
    """Parse untrusted bytes into an element tree, refusing DTDs, entities and oversize input."""
    if len(data) > MAX_BODY_BYTES:
        raise MalformedXml(f"XML body larger than {MAX_BODY_BYTES} bytes")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MalformedXml(f"not well-formed XML: {exc}") from None
    if root is None:
        raise MalformedXml("empty XML document")
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise MalformedXml("DTDs are not allowed")
    _canonicalize_namespace(root)
    return root


def parse(model: type[ModelT], data: bytes) -> ModelT:
    """Parse `data` as `model`, raising `MalformedXml` for any malformation or shape mismatch."""
    root = parse_tree(data)
    expected = model.__xml_tag__
    if expected and etree.QName(root).localname != expected:
        raise MalformedXml(f"expected a <{expected}> document, got <{etree.QName(root).localname}>")
    try:
        return model.from_xml_tree(cast(Any, root))
    except (ValidationError, ValueError, TypeError) as exc:
        raise MalformedXml(f"invalid <{expected}> document: {_first_error(exc)}") from None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        if errors:
            first = errors[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            return f"{where}: {first.get('msg', 'invalid')}"
    return str(exc)


def b64encode_text(text: str) -> str:
    """Encode text the way Label and Configuration travel: base64 of its UTF-8 bytes."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def b64decode_text(value: str) -> str:
    """Decode a base64 Label/Configuration back to text; raises `MalformedXml` when it isn't base64."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise MalformedXml(f"value is not base64-encoded UTF-8: {exc}") from None


class Error(Document, tag="Error"):
    """The error body of every failed request (and of a failed asynchronous operation)."""

    code: str = element(tag="Code")
    message: str = element(tag="Message", default="")


class ExtendedProperty(WireModel, tag="ExtendedProperty"):
    """A name/value pair; a missing value (null) deletes the property in an update."""

    name: str = element(tag="Name")
    value: str | None = element(tag="Value", default=None)


def properties_to_dict(properties: list[ExtendedProperty]) -> dict[str, str]:
    """Extended properties as a plain mapping (properties without a value are left out)."""
    return {prop.name: prop.value for prop in properties if prop.value is not None}


def dict_to_properties(values: dict[str, str | None]) -> list[ExtendedProperty]:
    """A mapping as extended properties, sorted by name so documents are deterministic."""
    return [ExtendedProperty(name=name, value=values[name]) for name in sorted(values)]
