"""`wire.parse` reads untrusted bytes: DTDs, entities, oversize and non-XML input are refused."""

from __future__ import annotations

import pytest

from controller.azure import wire
from controller.azure.wire import common

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Error xmlns="http://schemas.microsoft.com/windowsazure"><Code>&lol3;</Code></Error>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Error [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Error xmlns="http://schemas.microsoft.com/windowsazure"><Code>&xxe;</Code></Error>"""

PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Error SYSTEM "http://example.invalid/error.dtd">
<Error xmlns="http://schemas.microsoft.com/windowsazure"><Code>X</Code></Error>"""


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="entity-expansion"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(PLAIN_DTD, id="dtd"),
        pytest.param(b"", id="empty"),
        pytest.param(b"not xml at all", id="not-xml"),
        pytest.param(b"<html><body>502 Bad Gateway</body></html>", id="html-instead"),
        pytest.param(b'{"error": "json"}', id="json"),
        pytest.param(b"<Error xmlns='http://schemas.microsoft.com/windowsazure'><Code>x", id="truncated"),
        pytest.param(b"<Error xmlns='http://schemas.microsoft.com/windowsazure'/>", id="missing-required"),
        pytest.param(b"<Operation xmlns='http://schemas.microsoft.com/windowsazure'/>", id="wrong-root"),
    ],
)
def test_unsafe_or_malformed_input_is_refused(data: bytes) -> None:
    with pytest.raises(wire.MalformedXml):
        wire.parse(wire.Error, data)


def test_huge_input_is_refused_before_parsing() -> None:
    padding = b"<!--" + b"x" * common.MAX_BODY_BYTES + b"-->"
    data = b"<Error xmlns='http://schemas.microsoft.com/windowsazure'><Code>X</Code>" + padding + b"</Error>"

    with pytest.raises(wire.MalformedXml, match="larger than"):
        wire.parse(wire.Error, data)


def test_entities_are_never_expanded_into_values() -> None:
    with pytest.raises(wire.MalformedXml) as caught:
        wire.parse(wire.Error, EXTERNAL_ENTITY)

    assert "root:" not in str(caught.value)


def test_invalid_base64_is_malformed() -> None:
    with pytest.raises(wire.MalformedXml):
        wire.b64decode_text("not base64!")
