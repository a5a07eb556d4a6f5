"""The builders' package registry: which release of a package is already built for
riscv64. A Simple Repository API index (PEP 691 JSON or PEP 503 HTML), read with
pypi-simple; a release counts as built when the index holds a wheel of it, not yanked,
for one of the riscv64 platforms and one of the Pythons the builders make wheels for.

The client loads requests and pypi-simple when made: they cost start-up time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mirrorctl.core.errors import MirrorctlError

__all__ = ["RegistryClient", "RegistryError", "built_for", "newest_built"]


class RegistryError(MirrorctlError):
    pass


class RegistryClient:
    """A project's files from the registry, with time-outs and retries on 429 and 5xx."""

    def __init__(self, url: str, *, timeout: float = 30.0, retries: int = 3) -> None:
        # pypi-simple and requests load in a third of a second: only a client pays
        import requests
        from pypi_simple import PyPISimple
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        session = requests.Session()
        retry = Retry(total=retries, connect=retries, read=retries, backoff_factor=1.0,
                      status_forcelist=(429, 500, 502, 503, 504), allowed_methods={"GET"},
                      respect_retry_after_header=True, raise_on_status=False)
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        session.headers["User-Agent"] = "mirrorctl (riscv64 wheel builders)"
        self._client = PyPISimple(endpoint=self.url, session=session)

    def files(self, project: str) -> list[str]:
        """The names of the project's files that are not yanked ([] when it has none)."""
        import requests
        from pypi_simple import NoSuchProjectError

        try:
            page = self._client.get_project_page(project, timeout=(10.0, self.timeout))
        except NoSuchProjectError:
            return []
        except requests.RequestException as exc:
            raise RegistryError(f"the registry {self.url} could not be read for {project!r}: "
                                f"{type(exc).__name__}") from exc
        except ValueError as exc:  # an answer pypi-simple cannot read
            raise RegistryError(f"the registry {self.url} sent an unreadable page for "
                                f"{project!r}: {exc}") from exc
        return [p.filename for p in page.packages if not p.is_yanked]


def built_for(tag: Tag, platforms: Sequence[str], pythons: Sequence[str]) -> bool:
    """Whether a wheel tag is one of the builders' riscv64 builds: a platform of theirs
    and a CPython of theirs ("3.14t": the free-threaded build, abi cp314t)."""
    if tag.platform not in platforms:
        return False
    for python in pythons:
        free_threaded = python.endswith("t")
        major, minor = python.removesuffix("t").split(".")[:2]
        cp = f"cp{major}{minor}"
        if tag.interpreter == cp and (tag.abi == f"{cp}t") == free_threaded:
            return True
        stable_abi = (not free_threaded and tag.abi == "abi3"
                      and tag.interpreter.startswith(f"cp{major}"))
        if stable_abi and int(tag.interpreter[3:] or 0) <= int(minor):
            return True
    return False


def newest_built(files: Iterable[str], platforms: Sequence[str],
                 pythons: Sequence[str]) -> str | None:
    """The newest version among `files` that has a riscv64 wheel of the builders'."""
    built: list[Version] = []
    for name in files:
        if not name.endswith(".whl"):
            continue
        try:
            _, version, _, tags = parse_wheel_filename(name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if any(built_for(tag, platforms, pythons) for tag in tags):
            built.append(version)
    return str(max(built)) if built else None
