"""`x-ms-version`: every request names the API version it speaks, and versions gate elements.

The header is a date (`YYYY-MM-DD`). Each operation has a minimum version, and some request
elements and response elements only exist from a later version on (reference §3, §4, §5): a
request using an element newer than its version is a bad request, and a response leaves out
elements newer than the version asked for.
"""

from __future__ import annotations

import datetime
import re

from controller.emulator import errors

ApiVersion = datetime.date

_VERSION_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

V2009_10_01 = datetime.date(2009, 10, 1)
V2010_10_28 = datetime.date(2010, 10, 28)
V2011_02_25 = datetime.date(2011, 2, 25)
V2011_04_01 = datetime.date(2011, 4, 1)
V2011_06_01 = datetime.date(2011, 6, 1)
V2011_08_01 = datetime.date(2011, 8, 1)
V2011_10_01 = datetime.date(2011, 10, 1)
V2012_03_01 = datetime.date(2012, 3, 1)
V2012_12_01 = datetime.date(2012, 12, 1)
V2013_03_01 = datetime.date(2013, 3, 1)
V2013_06_01 = datetime.date(2013, 6, 1)
V2013_08_01 = datetime.date(2013, 8, 1)
V2014_02_01 = datetime.date(2014, 2, 1)
V2014_06_01 = datetime.date(2014, 6, 1)


def parse(header: str | None) -> ApiVersion:
    """The version a request asks for; a missing or garbled header is the documented 400."""
    if header is None or not _VERSION_PATTERN.fullmatch(header.strip()):
        raise errors.MissingOrIncorrectVersionHeader()
    try:
        return datetime.date.fromisoformat(header.strip())
    except ValueError:
        raise errors.MissingOrIncorrectVersionHeader() from None


def require(version: ApiVersion, minimum: ApiVersion, operation: str) -> None:
    """Reject a request whose version predates the operation."""
    if version < minimum:
        raise errors.MissingOrIncorrectVersionHeader(
            f"The operation {operation} requires x-ms-version {minimum.isoformat()} or later."
        )


def require_element(version: ApiVersion, minimum: ApiVersion, element: str) -> None:
    """Reject a request that uses an element (or value) newer than the version it declares."""
    if version < minimum:
        raise errors.BadRequest(
            f"The element or value '{element}' requires x-ms-version {minimum.isoformat()} or later."
        )
