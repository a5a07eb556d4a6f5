"""`mirrorctl stack`: the riscv64 closure of a root as pip's resolver picks it, each
package's way of installing on riscv64 Linux, what blocks the root, in which order to
build, from a loopback index (JSON API) and registry (Simple API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.fakeindex import FakeIndex, fake_index

RISCV = "manylinux_2_39_riscv64"
X86 = "manylinux_2_17_x86_64"


def wheel(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{name.replace('-', '_')}-{version}-{tag}.whl"


def sdist(name: str, version: str) -> str:
    return f"{name.replace('-', '_')}-{version}.tar.gz"


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    """A small stack in vllm's shape."""
    with fake_index() as found:
        add = found.add
        add("vllm", "1.0", "torch>=2", "xformers; platform_machine == 'x86_64'",
            "numpy<2.3", "outlines[serve]", "tokenizers", "llguidance==0.5.0",
            "typing-extensions; python_version < '3.10'", files=(sdist("vllm", "1.0"),))
        add("torch", "2.5.0", "numpy", "filelock", files=(
            sdist("torch", "2.5.0"), wheel("torch", "2.5.0", f"cp312-cp312-{X86}")),
            build_requires=["setuptools>=61", "cython>=3", "numpy>=2"])
        add("setuptools", "75.0.0", files=(wheel("setuptools", "75.0.0"),))
        add("wheel", "0.45.0", files=(wheel("wheel", "0.45.0"),))
        add("cython", "3.0.11", files=(sdist("cython", "3.0.11"),), build_requires=[])
        add("maturin", "1.7.0", files=(wheel("maturin", "1.7.0", f"py3-none-{RISCV}"),))
        add("numpy", "2.2.0", files=(wheel("numpy", "2.2.0", f"cp312-cp312-{RISCV}"),
                                     wheel("numpy", "2.2.0", f"cp313-cp313-{RISCV}"),
                                     sdist("numpy", "2.2.0")))
        add("numpy", "2.2.1", files=(sdist("numpy", "2.2.1"),), yanked=True)
        add("numpy", "2.3.0", files=(wheel("numpy", "2.3.0", f"cp312-cp312-{RISCV}"),))
        add("filelock", "3.16.0", files=(wheel("filelock", "3.16.0"),))
        add("outlines", "0.1.0", "pydantic", "fastapi; extra == 'serve'",
            files=(wheel("outlines", "0.1.0"),))
        add("fastapi", "0.115.0", "starlette", files=(wheel("fastapi", "0.115.0"),))
        add("starlette", "0.41.0", "anyio", files=(wheel("starlette", "0.41.0"),))
        add("anyio", "4.6.0", "starlette", files=(wheel("anyio", "4.6.0"),))  # a cycle
        add("pydantic", "2.9.0", "pydantic-core==2.23.4", files=(wheel("pydantic", "2.9.0"),))
        add("pydantic-core", "2.23.4", files=(
            sdist("pydantic-core", "2.23.4"),
            wheel("pydantic-core", "2.23.4", f"cp312-cp312-{X86}")))
        found.registry["pydantic-core"] = [wheel("pydantic_core", "2.23.4",
                                                 f"cp312-cp312-{RISCV}")]
        add("tokenizers", "0.20.0", files=(wheel("tokenizers", "0.20.0", f"cp39-abi3-{X86}"),))
        add("llguidance", "0.5.0", files=(sdist("llguidance", "0.5.0"),),
            build_requires=["maturin>=1,<2"])
        add("llguidance", "0.6.0", files=(wheel("llguidance", "0.6.0", f"cp312-cp312-{RISCV}"),))
        add("typing-extensions", "4.12.0", files=(wheel("typing_extensions", "4.12.0"),))
        add("haystack-ai", "2.6.0", "numpy", "flaky", files=(wheel("haystack_ai", "2.6.0"),))
        add("flaky", "1.0", files=(wheel("flaky", "1.0"),))
        found.broken.add("flaky")
        yield found


@pytest.fixture
def site(tmp_path: Path, index: FakeIndex) -> Path:
    config = tmp_path / "mirrors.yaml"
    config.write_text(yaml.safe_dump({
        "defaults": {"pypi_url": index.url, "registry_url": f"{index.url}/registry/",
                     "retries": 0, "python_versions": ["3.12"]},
        "packages": {"torch": {"upstream": "https://github.com/pytorch/pytorch.git",
                               "version": "2.5.0"}}}))
    return config


def stacks(run_cli, site: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    result = run_cli("--config", str(site), "--workdir", str(site.parent / "work"), "-q",
                     "stack", *args, "--format", "json")
    assert result.out.startswith("{"), result.err
    return result.code, json.loads(result.out)["stacks"]


def test_the_closure_as_pip_resolves_it_on_riscv64(run_cli, site: Path,
                                                   index: FakeIndex) -> None:
    code, [vllm] = stacks(run_cli, site, "vllm")
    assert code == 1  # blocked
    found = {p["name"]: p for p in vllm["packages"]}
    assert vllm["packages"][0]["name"] == "vllm"  # the root first
    assert {n: (p["version"], p["install"]) for n, p in found.items()} == {
        "vllm": ("1.0", "sdist-only"),
        "torch": ("2.5.0", "sdist-only"),            # an x86_64 wheel is no riscv64 one
        "numpy": ("2.2.0", "pypi-wheel"),            # <2.3, and 2.2.1 is yanked
        "filelock": ("3.16.0", "pure"),
        "outlines": ("0.1.0", "pure"),
        "fastapi": ("0.115.0", "pure"),              # through outlines[serve]
        "starlette": ("0.41.0", "pure"), "anyio": ("4.6.0", "pure"),  # a cycle
        "pydantic": ("2.9.0", "pure"),
        "pydantic-core": ("2.23.4", "registry-wheel"),
        "tokenizers": ("0.20.0", "missing"),         # no riscv64 wheel, no sdist
        "llguidance": ("0.5.0", "sdist-only"),       # the pin keeps the older one
    }
    # Markers for another machine and an older Python: never followed, never asked.
    assert "/pypi/xformers/json" not in index.requests
    assert "typing-extensions" not in found
    assert found["torch"]["required_by"] == ["vllm"]
    assert found["numpy"]["required_by"] == ["torch", "vllm"]
    assert found["torch"]["in_inventory"] and not found["numpy"]["in_inventory"]
    assert vllm["blocked_by"] == ["vllm", "llguidance", "tokenizers", "torch"]
    assert found["torch"]["blocks"] == ["vllm"] and found["numpy"]["blocks"] == []
    # What building needs: torch's sdist asks for Cython, which has no riscv64 wheel
    # either, and is needed at build time only: built first. maturin has a wheel.
    assert found["torch"]["build_requires"] == ["setuptools>=61", "cython>=3", "numpy>=2"]
    assert found["llguidance"]["build_requires"] == ["maturin>=1,<2"]
    assert found["vllm"]["build_requires"] == ["setuptools>=40.8.0", "wheel"]  # setup.py
    assert found["numpy"]["build_requires"] == []  # a wheel: nothing to build
    assert vllm["build_only"] == ["cython"] and "cython" not in found
    # Each one to build after those of them it requires, or its build needs: the root
    # last, Cython before torch.
    order = vllm["order"]
    assert order[-1] == "vllm" and set(order) == {*vllm["blocked_by"], "cython"}
    assert order.index("cython") < order.index("torch")
    assert "no riscv64 wheel for cp312: build it first" in found["torch"]["why"]


def test_another_python_follows_its_own_markers_and_wheels(run_cli, site: Path) -> None:
    _, [older] = stacks(run_cli, site, "vllm", "--python", "3.9")
    found = {p["name"]: p for p in older["packages"]}
    assert found["typing-extensions"]["install"] == "pure"
    assert found["numpy"]["install"] == "sdist-only"  # cp312 and cp313 wheels only
    _, [newer] = stacks(run_cli, site, "vllm", "--python", "3.13")
    assert {p["name"]: p["install"] for p in newer["packages"]}["numpy"] == "pypi-wheel"


def test_a_source_that_does_not_answer_is_unknown_never_installable(
        run_cli, site: Path) -> None:
    code, [haystack] = stacks(run_cli, site, "haystack-ai")
    found = {p["name"]: p for p in haystack["packages"]}
    assert code == 1
    assert found["flaky"]["install"] == "unknown" and found["flaky"]["version"] is None
    assert any(u.startswith("flaky: the index ") and "answered 500" in u
               for u in haystack["unknown"]), haystack["unknown"]
    assert haystack["blocked_by"] == []  # not blocked: unknown
    table = run_cli("--config", str(site), "--workdir", str(site.parent / "work"), "-q",
                    "stack", "haystack-ai").out
    assert "(the closure is not complete: 1 fact not known, below)" in table, table


def test_a_blocker_of_several_roots_leads_the_table(run_cli, site: Path,
                                                   index: FakeIndex) -> None:
    index.add("haystack-ai", "2.7.0", "numpy", "tokenizers", files=(
        wheel("haystack_ai", "2.7.0"),))
    result = run_cli("--config", str(site), "--workdir", str(site.parent / "work"), "-q",
                     "stack", "vllm", "haystack-ai")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "Blockers (roots, packages needing them):"
    assert lines[1].split()[:2] == ["tokenizers", "2"]  # blocks both roots
    assert "(not in the inventory)" in lines[1]
    assert "haystack-ai on Python 3.12: 2 of 3 packages install from wheels; blocked by " \
        "tokenizers" in lines, lines


def test_a_second_run_reads_the_kept_answers(run_cli, site: Path, index: FakeIndex) -> None:
    _, [first] = stacks(run_cli, site, "vllm")
    asked = [r for r in index.requests if r.startswith("/pypi/")]
    # One request a package of the closure and of what building its blockers needs,
    # and one for each release older than the newest (a pin, a bound): its requirements
    # are not in the project's document.
    older = ["/pypi/llguidance/0.5.0/json", "/pypi/numpy/2.2.0/json"]
    building = ["cython", "maturin", "setuptools", "wheel"]
    projects = [p["name"] for p in first["packages"]] + building
    assert sorted(asked) == sorted([f"/pypi/{p}/json" for p in projects] + older)
    assert len(asked) <= 1.2 * len(projects)
    start = len(index.requests)
    _, [again] = stacks(run_cli, site, "vllm")
    assert [r for r in index.requests[start:] if r.startswith("/pypi/")] == []  # max-age
    assert again == first
    # Past max-age: asked again with the ETag (a 304 each), the release's never again.
    work = site.parent / "work" / "index"
    for kept in work.glob("*.json"):
        data = json.loads(kept.read_text())
        kept.write_text(json.dumps({**data, "fresh_until": 0}))
    start = len(index.requests)
    _, [third] = stacks(run_cli, site, "vllm")
    asked = [r for r in index.requests[start:] if r.startswith("/pypi/")]
    assert len(asked) == len(projects) and not set(asked) & set(older)
    assert third == first


def test_a_root_that_is_no_requirement_is_bad_usage(run_cli, site: Path) -> None:
    result = run_cli("--config", str(site), "--workdir", str(site.parent / "work"),
                     "stack", "vllm>>1")
    assert result.code == 2 and "'vllm>>1' is no requirement" in result.err


def test_requirements_no_version_satisfies_are_said_so(run_cli, site: Path,
                                                       index: FakeIndex) -> None:
    index.add("clash", "1.0", "numpy>=3", files=(wheel("clash", "1.0"),))
    code, [clash] = stacks(run_cli, site, "clash")
    assert code == 1 and clash["packages"] == []
    assert clash["error"].startswith("no set of versions satisfies every requirement")


def test_an_index_with_the_simple_api_alone_is_read_through_its_metadata_files(
        run_cli, site: Path, index: FakeIndex) -> None:
    """pypi_url ending in /simple: PEP 691 pages, each release's requirements from its
    PEP 658 metadata file; the same closure as through the JSON API."""
    _, [by_json] = stacks(run_cli, site, "vllm")
    data = yaml.safe_load(site.read_text())
    data["defaults"]["pypi_url"] = f"{index.url}/simple"
    site.write_text(yaml.safe_dump(data))
    start = len(index.requests)
    code, [by_simple] = stacks(run_cli, site, "vllm")
    assert code == 1
    assert by_simple["packages"] == by_json["packages"]
    assert by_simple["blocked_by"] == by_json["blocked_by"]
    asked = index.requests[start:]
    assert "/simple/vllm/" in asked and "/files/vllm-1.0.tar.gz.metadata" in asked
    assert not [r for r in asked if r.startswith("/pypi/")]


@pytest.fixture(scope="module")
def shared_index() -> Iterator[FakeIndex]:
    with fake_index() as found:
        yield found


_KINDS = {"riscv": ("pypi-wheel", f"cp312-cp312-{RISCV}"), "pure": ("pure", "py3-none-any"),
          "sdist": ("sdist-only", None), "x86": ("missing", f"cp312-cp312-{X86}")}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_closure_is_consistent_on_random_stacks(shared_index: FakeIndex,
                                                    data: st.DataObject) -> None:
    """On random stacks (layers, two versions each, bounds, any kind of file): every
    package is required by one of the closure, every chosen version satisfies what
    requires it, the blockers are the packages with no wheel, each built after the
    blockers it requires."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from mirrorctl.grade.index import PackageIndex
    from mirrorctl.grade.stack import resolve_stack
    from mirrorctl.grade.stackinstall import BLOCKING

    shared_index.projects.clear()
    layers = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    names = [[f"p{level}-{n}" for n in range(width)] for level, width in enumerate(layers)]
    lines: dict[str, list[str]] = {}
    for level, layer in enumerate(names):
        below = names[level + 1] if level + 1 < len(names) else []
        for name in layer:
            wanted = data.draw(st.lists(st.sampled_from(below), unique=True)) if below else []
            bounds = [data.draw(st.sampled_from(["", ">=1.0", "<2.0", "==1.0"])) for _ in wanted]
            lines[name] = [f"{w}{b}" for w, b in zip(wanted, bounds, strict=True)]
            for version in ("1.0", "2.0"):
                kind = data.draw(st.sampled_from(sorted(_KINDS)))
                tag = _KINDS[kind][1]
                shared_index.add(name, version, *lines[name], files=(
                    sdist(name, version) if tag is None else wheel(name, version, tag),))
    shared_index.add("root", "1.0", *names[0], files=(sdist("root", "1.0"),))
    stack = resolve_stack(Requirement("root"), "3.12", PackageIndex(shared_index.url), None)
    if stack.error is not None:  # bounds no version satisfies: said, nothing else
        assert stack.packages == () and "no set of versions" in stack.error
        return
    found = {p.name: p for p in stack.packages}
    assert stack.packages[0].name == "root"
    for package in stack.packages[1:]:
        assert package.required_by and set(package.required_by) <= set(found)
    for package in stack.packages:
        for line in lines.get(package.name, []) + (names[0] if package.name == "root" else []):
            requirement = Requirement(line)
            chosen = found[canonicalize_name(requirement.name)]
            assert requirement.specifier.contains(chosen.version or "0", prereleases=True)
    assert set(stack.blocked_by) == {p.name for p in stack.packages if p.install in BLOCKING}
    done: set[str] = set()
    for name in stack.order:
        reachable, todo = set(), [name]
        while todo:
            for child in found[todo.pop()].requires:
                if child not in reachable:
                    reachable.add(child)
                    todo.append(child)
        assert (reachable & set(stack.blocked_by)) - {name} <= done
        done.add(name)


def test_without_a_root_the_stacks_of_mirrors_yaml_are_resolved(run_cli, site: Path) -> None:
    data = yaml.safe_load(site.read_text())
    args = ("--config", str(site), "--workdir", str(site.parent / "work"), "-q")
    none = run_cli(*args, "stack")
    assert none.code == 2 and "defaults.stacks in mirrors.yaml" in none.err
    data["defaults"]["stacks"] = ["vllm", "haystack-ai"]
    site.write_text(yaml.safe_dump(data))
    code, found = stacks(run_cli, site)
    assert code == 1 and [s["root"] for s in found] == ["vllm", "haystack-ai"]
    data["defaults"]["stacks"] = ["vllm["]
    site.write_text(yaml.safe_dump(data))
    bad = run_cli(*args, "validate")
    assert bad.code == 2 and "defaults.stacks" in bad.err + bad.out \
        and "'vllm[' is no requirement" in bad.err + bad.out


def test_the_campaign_ranks_packages_by_the_roots_their_wheels_would_unblock(
        run_cli, site: Path, index: FakeIndex) -> None:
    """What the last `stack` of each root kept says each package blocks; the upstream
    requests for riscv64 wheels worth asking first lead (upstream wheels reads it)."""
    from mirrorctl.grade.stackkept import kept_blockers
    from mirrorctl.upstream.wheels.road import Road, rank_by_blocks

    kept = site.parent / "work" / "index" / "stacks"
    assert kept_blockers(kept, ["vllm"], ["3.12"], index.url) == {}  # nothing kept yet
    stacks(run_cli, site, "vllm")
    stacks(run_cli, site, "haystack-ai")  # something unknown: not kept, says nothing
    found = kept_blockers(kept, ["vllm", "haystack-ai"], ["3.12"], index.url)
    assert found == {name: ("vllm",) for name in ("vllm", "llguidance", "tokenizers", "torch")}
    assert kept_blockers(kept, ["vllm"], ["3.13"], index.url) == {}  # another Python
    roads = [Road(name=n, state="draft", reasons=(), next="-")
             for n in ("numpy", "torch", "filelock", "tokenizers")]
    ranked = rank_by_blocks(roads, found)
    assert [(r.name, r.blocks) for r in ranked] == [
        ("torch", ("vllm",)), ("tokenizers", ("vllm",)), ("numpy", ()), ("filelock", ())]
