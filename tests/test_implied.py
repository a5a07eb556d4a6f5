"""What a site and its upstreams imply where nobody wrote mirrors.yaml yet."""

from __future__ import annotations

from pathlib import Path

from mirrorctl.core.implied import implied_defaults, infer_tag_format

WORKFLOW = """\
env:
  UV_EXTRA_INDEX_URL: https://pypi.riseproject.dev/simple/
jobs:
  build:
    strategy: {matrix: {python: [cp312, cp313]}}
    steps:
      - env: {CIBW_BUILD: "cp314-* cp314t-*"}
      - run: pip install --extra-index-url https://gitlab.com/api/v4/projects/x/pypi/simple x
"""


def test_the_defaults_a_repository_like_the_builders_implies(tmp_path: Path) -> None:
    (tmp_path / "patches").mkdir()
    defaults = implied_defaults(tmp_path, [WORKFLOW, "env: {PIP_INDEX_URL: "
                                                     "https://pypi.riseproject.dev/simple}\n"])
    assert defaults == {"patchsets": "patches", "status_vocabulary": "builders",
                        "registry_url": "https://pypi.riseproject.dev/simple/",
                        "python_versions": ["3.12", "3.13", "3.14", "3.14t"]}
    assert implied_defaults(tmp_path / "elsewhere", []) == {}


def test_a_tag_format_read_off_upstreams_tags() -> None:
    tags = ["v1.3.1", "v1.3.2", "v1.3.3", "v1.4.0rc1", "nightly"]
    inferred = infer_tag_format(tags, "1.3.3", "contourpy")
    assert inferred is not None and inferred.template == "v{version}"
    assert "v1.3.3" in inferred.evidence
    assert infer_tag_format(["release-5.9.8"], "5.9.8", "psutil").template == "release-{version}"
    assert infer_tag_format(["py-1.20.0"], "1.20.0", "polars-runtime-64").template == \
        "py-{version}"
    assert infer_tag_format(["v2.13.0"], "2.13.0+cpu", "torch").template == "v{version}"
    assert infer_tag_format(["rel_2_0_40"], "2.0.40", "sqlalchemy").template == \
        "rel_{major}_{minor}_{micro}"
    assert infer_tag_format(["ujson-5.10.0"], "5.10.0", "ujson").template == "ujson-{version}"
    # No version to go by: the format that reads the most releases, if it reads three.
    assert infer_tag_format(["1.0", "1.1", "1.2", "v0.9"], None, "x").template == "{version}"
    assert infer_tag_format(["1.0", "v0.9"], None, "x") is None
    # The version built is not among the tags: nothing is guessed.
    assert infer_tag_format(["v1.3.1", "v1.3.2"], "1.3.3", "contourpy") is None
