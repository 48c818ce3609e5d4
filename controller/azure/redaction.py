"""Keep secrets out of every string this operator writes: logs, events, status, exceptions.

Two kinds of secret pass through the Service Management client: the management certificate's
private key (held in memory, loaded into the TLS context) and shared access signatures in package
URLs (`PackageUrl` is usually a blob SAS URL: whoever reads the query can download the package
until it expires). Azure echoes request values back in error messages, so redaction cannot rely
on us never formatting a URL: every error text goes through `redact_text`, and URLs we print go
through `redact_url`. Both are total functions (they never raise) and idempotent.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

REDACTED = "REDACTED"

# Query parameters of Azure Storage shared access signatures (service, account and user
# delegation SAS). Any one of them marks the whole query as a SAS: the signature is the secret,
# but the rest (permissions, expiry, signed object ids) is not for logs either.
SAS_PARAMETERS = frozenset(
    {
        "sig", "sv", "ss", "srt", "sp", "se", "st", "spr", "sip", "si", "sr", "sdd", "ses",
        "skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid", "sduoid",
        "rscc", "rscd", "rsce", "rscl", "rsct",
    }
)  # fmt: skip

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.DOTALL)
_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
# A signature outside a recognisable URL: XML-escaped (`&amp;sig=`), percent-encoded
# (`sig%3D`), or a bare query fragment.
_LOOSE_SIGNATURE = re.compile(
    r"(?:(?<![A-Za-z0-9_%])|(?<=%3F)|(?<=%26))(sig)(=|%3D)(?:(?!%26)[^&\s\"'<>])+", re.IGNORECASE
)
# Storage connection strings can sit in a .cscfg setting and come back in a validation message.
_CONNECTION_SECRET = re.compile(
    r"(?<![A-Za-z0-9_])(AccountKey|SharedAccessKey|SharedAccessSignature|Password)=([^;\s\"'<>]+)",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """`url` without credentials: a SAS or blob query becomes `?REDACTED`, user info is dropped.

    Query strings of our own API calls (`comp=upgrade`, `StartTime=...`) are kept: they carry no
    secret and make logs useful.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return _LOOSE_SIGNATURE.sub(rf"\1\2{REDACTED}", url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = REDACTED if parts.query and _is_secret_query(parts.hostname or "", parts.query) else parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _is_secret_query(host: str, query: str) -> bool:
    if ".blob." in host.lower():
        return True  # a blob URL's query is a SAS or nothing useful
    names = {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}
    return bool(names & SAS_PARAMETERS) or bool(_LOOSE_SIGNATURE.search(query))


def redact_text(text: str) -> str:
    """`text` with PEM blocks, SAS queries, signatures and connection-string keys removed."""
    text = _PEM_BLOCK.sub("[REDACTED PEM]", text)
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    text = _LOOSE_SIGNATURE.sub(rf"\1\2{REDACTED}", text)
    return _CONNECTION_SECRET.sub(rf"\1={REDACTED}", text)
