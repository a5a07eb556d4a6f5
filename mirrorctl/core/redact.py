"""Credential redaction for everything mirrorctl prints or writes.

Tokens leaked through error messages that printed a remote URL: every text that
leaves mirrorctl (output, logs, errors, crash logs) passes through a Redactor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["MASK", "Redactor", "secrets_from_environ"]

MASK = "***"
_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|_KEY$|^CI_JOB_JWT", re.I)
# http(s)://anything@ : the user part of an HTTP URL is often the token itself.
_HTTP_USERINFO = re.compile(r"(?i)\b(https?://)[^/\s@]+@")
# scheme://user:password@ for any other scheme.
_PASSWORD = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*):[^/\s@]+@")
_MIN_SECRET_LENGTH = 4


def secrets_from_environ(environ: Mapping[str, str]) -> list[str]:
    """The values of environment variables whose names say they are secret."""
    return [
        value
        for name, value in environ.items()
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH
    ]


class Redactor:
    """Masks URL credentials and known secret values in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len,
                               reverse=True)

    def __call__(self, text: str) -> str:
        text = _HTTP_USERINFO.sub(rf"\g<1>{MASK}@", text)
        text = _PASSWORD.sub(rf"\g<1>:{MASK}@", text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
