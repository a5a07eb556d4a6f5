"""What git will do with a remote URL: which transport, and whether it hides credentials.

Pure functions, so config validation and the git runner agree on what a URL means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "KNOWN_PROTOCOLS",
    "embedded_credentials",
    "forge_kind",
    "resolve_local",
    "same_repository",
    "tree_url",
    "url_protocol",
    "web_url",
]

# Protocols a mirrors.yaml may allow. ext:: runs arbitrary commands and fd:: reads
# file descriptors; neither is ever allowed, whatever the config says.
KNOWN_PROTOCOLS = ("https", "http", "ssh", "git", "file")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)::")
_SSH_ALIASES = {"git+ssh": "ssh", "ssh+git": "ssh"}


def url_protocol(url: str) -> str:
    """The protocol git uses for `url`, as GIT_ALLOW_PROTOCOL names it."""
    if match := _TRANSPORT.match(url):
        return match.group(1).lower()
    if match := _SCHEME.match(url):
        scheme = match.group(1).lower()
        return _SSH_ALIASES.get(scheme, scheme)
    # git's rule: a colon before the first slash makes "host:path" an scp-like SSH URL.
    colon, slash = url.find(":"), url.find("/")
    if colon > 0 and (slash == -1 or colon < slash):
        return "ssh"
    return "file"


def embedded_credentials(url: str) -> bool:
    """True when `url` carries a password, or a token in place of an HTTP user name."""
    if not _SCHEME.match(url):
        return False
    parts = urlsplit(url)
    if parts.password is not None:
        return True
    return parts.scheme.lower() in ("http", "https") and parts.username is not None


def resolve_local(url: str, base: Path) -> str:
    """Make a local repository path absolute, relative to `base` (the config's folder)."""
    if url_protocol(url) != "file" or url.startswith("file://"):
        return url
    return str((base / Path(url).expanduser()).resolve())


def same_repository(url: str) -> str:
    """A key equal for the URLs of one repository: host case, a trailing slash and .git
    do not count."""
    text = url.rstrip("/").removesuffix(".git")
    if _SCHEME.match(text):
        parts = urlsplit(text)
        return parts._replace(netloc=parts.netloc.lower(), scheme=parts.scheme.lower()).geturl()
    return text


def web_url(git_url: str) -> str | None:
    """The web page of a repository from its git URL (https or scp-like ssh), if it has one."""
    if match := re.match(r"^(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?$", git_url):
        return f"https://{match.group(1)}/{match.group(2)}"
    if git_url.startswith(("https://", "http://")):
        return git_url.removesuffix("/").removesuffix(".git")
    return None


def forge_kind(host: str, apis: Mapping[str, str] | None = None) -> str:
    """"github", "gitlab" or "unknown": the forge a web host runs. github.com, gitlab.com
    and gitlab.* say it by name; another host is known when defaults.forge_apis (`apis`)
    names its API: GitHub Enterprise's ends in /api/v3, any other is a GitLab's."""
    host = host.lower()
    if host == "github.com":
        return "github"
    if host == "gitlab.com" or host.startswith("gitlab."):
        return "gitlab"
    if apis and host in apis:
        return "github" if urlsplit(apis[host]).path.rstrip("/").endswith("/api/v3") \
            else "gitlab"
    return "unknown"


def tree_url(web: str, ref: str, path: str = "",
             apis: Mapping[str, str] | None = None) -> str | None:
    """The web page of `path` (a folder or a file) at `ref` in the repository whose page
    is `web`, or None when its forge is not known."""
    kind = forge_kind(urlsplit(web).hostname or "", apis)
    if kind == "unknown":
        return None
    tree = "/-/tree/" if kind == "gitlab" else "/tree/"
    return web.rstrip("/") + tree + ref + (f"/{path.strip('/')}" if path else "")
