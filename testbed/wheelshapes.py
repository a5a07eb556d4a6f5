"""Upstream trees in the shapes real projects build their wheels in (written for these
tests in those shapes, copied from no project): path -> text."""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77", "cython>=3"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
dynamic = ["version"]
"""

# An arch matrix run under QEMU, the images that have no riscv64 build excluded.
EMULATED_MATRIX = {
    ".github/workflows/wheels.yml": """\
name: Build wheels

on:
  push:
    tags: ["v*"]
  pull_request:
    paths: [".github/workflows/wheels.yml"]

jobs:
  build_sdist:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pipx run build --sdist

  build_wheels:
    name: wheels ${{ matrix.os }} ${{ matrix.arch }} ${{ matrix.libc }}
    runs-on: ${{ matrix.os }}
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-latest]
        arch: [x86_64, aarch64, ppc64le, s390x]
        libc: [manylinux, musllinux]
        image: [manylinux2014, manylinux_2_39]
        exclude:
          - arch: s390x
            libc: musllinux
          - libc: musllinux
            image: manylinux2014
        include:
          - os: windows-latest
            arch: AMD64
          - os: macos-14
            arch: arm64
    steps:
      - uses: actions/checkout@v4
      - name: Set up QEMU
        if: runner.os == 'Linux' && matrix.arch != 'x86_64'
        uses: docker/setup-qemu-action@v3
        with:
          platforms: arm64,ppc64le,s390x
      - uses: pypa/cibuildwheel@v3.1.4
        env:
          CIBW_ARCHS: ${{ matrix.arch }}
          CIBW_BUILD: "cp3*-${{ matrix.libc }}_*"
          CIBW_MANYLINUX_X86_64_IMAGE: ${{ matrix.image }}
          CIBW_MANYLINUX_AARCH64_IMAGE: ${{ matrix.image }}
          CIBW_MANYLINUX_PPC64LE_IMAGE: ${{ matrix.image }}
          CIBW_MANYLINUX_S390X_IMAGE: ${{ matrix.image }}
      - uses: actions/upload-artifact@v4
        with:
          name: wheels-${{ matrix.os }}-${{ matrix.arch }}-${{ matrix.libc }}-${{ matrix.image }}
          path: wheelhouse/*.whl
""",
    "pyproject.toml": PYPROJECT.format(name="emulated"),
}

# Each architecture an include entry, the emulated ones marked by a key of their own.
INCLUDE_ENTRIES = {
    ".github/workflows/build.yml": """\
name: wheels
on: [push, workflow_dispatch]
jobs:
  wheels:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        include:
          - os: ubuntu-22.04
            cibw_arch: x86_64
          - os: ubuntu-22.04
            cibw_arch: aarch64
            qemu: true
          - os: ubuntu-22.04
            cibw_arch: ppc64le
            qemu: true
          - os: macos-13
            cibw_arch: x86_64
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-qemu-action@v3
        if: ${{ matrix.qemu }}
        with:
          platforms: all
      - name: Build wheels
        run: |
          python -m pip install cibuildwheel==3.2.1
          python -m cibuildwheel --output-dir wheelhouse
        env:
          CIBW_ARCHS_LINUX: ${{ matrix.cibw_arch }}
          CIBW_ARCHS_MACOS: ${{ matrix.cibw_arch }}
""",
    "pyproject.toml": PYPROJECT.format(name="included"),
}

# Native runners only; a later job counts the wheels it expects.
NATIVE_RUNNERS = {
    ".github/workflows/release.yml": """\
name: Release
on:
  release:
    types: [published]
jobs:
  wheels:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-24.04, ubuntu-24.04-arm, windows-2022, macos-14]
    steps:
      - uses: actions/checkout@v4
      - uses: pypa/cibuildwheel@v3.1.4
      - uses: actions/upload-artifact@v4
        with:
          name: wheels-${{ matrix.os }}
          path: wheelhouse/*.whl
  check:
    needs: wheels
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          pattern: wheels-*
          merge-multiple: true
          path: dist
      - name: Count the wheels
        run: test "$(ls dist/*.whl | wc -l)" -eq 20
""",
    "pyproject.toml": PYPROJECT.format(name="native") + """
[tool.cibuildwheel]
build = "cp310-* cp311-* cp312-* cp313-* cp314-*"
skip = "*-musllinux_*"
""",
}

# The archs in pyproject's cibuildwheel table; the workflow sets up QEMU for them.
PYPROJECT_ARCHS = {
    ".github/workflows/wheels.yaml": """\
name: wheels
on: push
jobs:
  linux:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-qemu-action@v3
        with:
          platforms: arm64,s390x
      - uses: pypa/cibuildwheel@v3.1.4
""",
    "pyproject.toml": PYPROJECT.format(name="tabled") + """
[tool.cibuildwheel]
test-command = "pytest {project}/tests"

[tool.cibuildwheel.linux]
# The emulated ones are slow: tests run on x86_64 only.
archs = ["x86_64", "aarch64", "s390x"]
""",
}

# maturin, a target a matrix entry.
MATURIN = {
    ".github/workflows/CI.yml": """\
name: CI
on: [push, pull_request]
jobs:
  linux:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        target: [x86_64, aarch64, armv7, s390x, ppc64le]
    steps:
      - uses: actions/checkout@v4
      - uses: PyO3/maturin-action@v1
        with:
          target: ${{ matrix.target }}
          args: --release --out dist
          manylinux: auto
  windows:
    runs-on: windows-latest
    steps:
      - uses: PyO3/maturin-action@v1
        with:
          target: x64
""",
    "pyproject.toml": """\
[build-system]
requires = ["maturin>=1.7,<2.0"]
build-backend = "maturin"
""",
}

# A matrix computed at run time: no patch is guessed.
COMPUTED_MATRIX = {
    ".github/workflows/wheels.yml": """\
on: push
jobs:
  plan:
    runs-on: ubuntu-latest
    outputs:
      matrix: ${{ steps.plan.outputs.matrix }}
    steps:
      - id: plan
        run: python tools/plan.py >> "$GITHUB_OUTPUT"
  build:
    needs: plan
    runs-on: ${{ matrix.os }}
    strategy:
      matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}
    steps:
      - uses: pypa/cibuildwheel@v3.1.4
""",
    "pyproject.toml": PYPROJECT.format(name="computed"),
}

# Tests under emulation on riscv64, wheels only for x86_64: no riscv64 wheel is built.
TESTS_UNDER_QEMU = {
    ".github/workflows/ci.yml": """\
on: push
jobs:
  test-riscv64:
    runs-on: ubuntu-latest
    steps:
      - uses: uraimo/run-on-arch-action@v2
        with:
          arch: riscv64
          distro: ubuntu22.04
          run: python3 -m pytest
  wheels:
    runs-on: ubuntu-latest
    steps:
      - uses: pypa/cibuildwheel@v3.1.4
""",
}


def with_riscv64(files: dict[str, str]) -> dict[str, str]:
    """EMULATED_MATRIX as upstream merged it: riscv64 among the emulated."""
    text = files[".github/workflows/wheels.yml"]
    text = text.replace("arch: [x86_64, aarch64, ppc64le, s390x]",
                        "arch: [x86_64, aarch64, ppc64le, s390x, riscv64]")
    return {**files, ".github/workflows/wheels.yml": text}

# Each architecture an include entry on its own runner (arm natively), cibuildwheel's
# settings in a file of their own that the step names.
NATIVE_INCLUDE = {
    ".github/workflows/wheels.yml": """\
on: [push]
jobs:
  wheels:
    runs-on: "${{ matrix.os }}"
    strategy:
      matrix:
        include:
        - os: ubuntu-24.04
          archs: x86_64
        - os: ubuntu-24.04-arm
          archs: aarch64
        - os: macos-14
          archs: arm64
    steps:
    - uses: actions/checkout@v4
    - name: Build wheels
      uses: pypa/cibuildwheel@v3.2.1
      with:
        config-file: .cibuildwheel.toml
      env:
        CIBW_ARCHS: "${{ matrix.archs }}"
""",
    ".cibuildwheel.toml": """\
[tool.cibuildwheel]
build = "cp311-* cp312-* cp313-*"
skip = "*-musllinux_*"
""",
    "pyproject.toml": PYPROJECT.format(name="own-runners"),
}

# The runner picked by an expression, cibuildwheel run by uvx with a pinned version, a
# build selector a combination, values quoted, QEMU for two of the emulated.
EXPRESSION_RUNNER = {
    ".github/workflows/wheel.yml": """\
on: push
jobs:
  linux:
    strategy:
      matrix:
        py:
          - 'cp312'
          - 'cp313'
        arch:
          - 'aarch64'
          - 'ppc64le'
          - 's390x'
          - 'x86_64'
        image:
          - 'manylinux2014'
          - 'manylinux_2_39'
        exclude:
          - py: 'cp313'
            image: 'manylinux2014'
    runs-on: ${{ matrix.arch == 'aarch64' && 'ubuntu-24.04-arm' || 'ubuntu-24.04' }}
    env:
      CIBW_ARCHS: ${{ matrix.arch }}
      CIBW_BUILD: ${{ matrix.py }}-manylinux_${{ matrix.arch }}
      # no uv in the emulated images
      CIBW_BUILD_FRONTEND: ${{ (matrix.py == 'cp313' && (matrix.arch == 'ppc64le' || matrix.arch == 's390x')) && 'build' || 'build[uv]' }}
      CIBW_TEST_SKIP: "*-manylinux_ppc64le *-manylinux_s390x"
      CIBW_MANYLINUX_AARCH64_IMAGE: quay.io/pypa/${{ matrix.image }}_aarch64:latest
      CIBW_MANYLINUX_S390X_IMAGE: quay.io/pypa/${{ matrix.image }}_s390x:latest
    steps:
      - uses: actions/checkout@v4
      - name: Set up QEMU
        if: ${{ matrix.arch == 'ppc64le' || matrix.arch == 's390x' }}
        uses: docker/setup-qemu-action@v3
      - name: Build wheels
        run: |
          uvx -p 3.13 cibuildwheel@4.1.0
""",
}

# Flow-style include entries, the emulated ones naming their QEMU platform in a key of
# their own that the QEMU step reads; cibuildwheel run by `uvx --from`, uv set up first.
FLOW_QEMU = {
    ".github/workflows/build.yml": """\
name: build
on: [push, pull_request]
jobs:
  wheels:
    name: "wheels, ${{ matrix.os }}, ${{ matrix.arch }}"
    runs-on: ${{ matrix.os }}
    timeout-minutes: 60
    strategy:
      fail-fast: false
      matrix:
        include:
          - { os: ubuntu-24.04, osname: linux, arch: x86_64 }
          - { os: ubuntu-24.04-arm, osname: linux, arch: aarch64 }
          - { os: ubuntu-24.04, osname: linux, arch: ppc64le, qemu: ppc64le }
          - { os: ubuntu-24.04, osname: linux, arch: s390x, qemu: s390x }
          - { os: macos-15, osname: macos, arch: arm64 }
          - { os: windows-2025, osname: windows, arch: AMD64 }
    steps:
      - uses: actions/checkout@v5
      - uses: astral-sh/setup-uv@v6
      - name: Set up QEMU
        if: matrix.qemu
        uses: docker/setup-qemu-action@v3
        with:
          platforms: ${{ matrix.qemu }}
      - name: Create wheels + run tests
        run: uvx --from cibuildwheel==3.1.4 cibuildwheel --output-dir wheelhouse
        env:
          CIBW_ARCHS: ${{ matrix.arch }}
          CIBW_SKIP: "*-musllinux_*"
      - uses: actions/upload-artifact@v4
        with:
          name: wheels-${{ matrix.osname }}-${{ matrix.arch }}
          path: wheelhouse
""",
    "pyproject.toml": PYPROJECT.format(name="flowqemu") + """
[tool.cibuildwheel]
build = "cp312-* cp313-*"
# tests under QEMU take an hour
test-skip = "*-*linux_{ppc64le,s390x}"

[[tool.cibuildwheel.overrides]]
select = "*_s390x"
environment = { CFLAGS = "-O1" }
""",
}

# Block include entries, x86_64 and aarch64 each on their own runner and each twice (one
# per libc, selected by `build`), setup-python on every job, cibuildwheel pinned in a
# requirements file, an anchored path list in `on:`, and the dists counted by a setting.
ANCHORED_NATIVE = {
    ".github/workflows/wheels.yml": """\
name: Wheels

on:
  push:
    paths: &paths
      - ".ci/requirements-cibw.txt"
      - ".github/workflows/wheels*"
      - "pyproject.toml"
    tags:
      - "*"
  pull_request:
    paths: *paths

env:
  EXPECTED_DISTS: 8

jobs:
  build-native-wheels:
    name: ${{ matrix.name }}
    runs-on: ${{ matrix.os }}
    strategy:
      fail-fast: false
      matrix:
        include:
          - name: "manylinux_2_28 x86_64"
            platform: linux
            os: ubuntu-latest
            cibw_arch: x86_64
            build: "cp31[23]-manylinux*"
          - name: "musllinux x86_64"
            platform: linux
            os: ubuntu-latest
            cibw_arch: x86_64
            build: "cp31[23]-musllinux*"
          - name: "manylinux_2_28 aarch64"
            platform: linux
            os: ubuntu-24.04-arm
            cibw_arch: aarch64
            build: "cp31[23]-manylinux*"
          - name: "macOS arm64"
            platform: macos
            os: macos-latest
            cibw_arch: arm64
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-python@v6
        with:
          python-version: "3.x"
      - name: Install cibuildwheel
        run: |
          python3 -m pip install -r .ci/requirements-cibw.txt
      - name: Build wheels
        run: |
          python3 -m cibuildwheel --output-dir wheelhouse
        env:
          CIBW_PLATFORM: ${{ matrix.platform }}
          CIBW_ARCHS: ${{ matrix.cibw_arch }}
          CIBW_BUILD: ${{ matrix.build }}
      - uses: actions/upload-artifact@v4
        with:
          name: dist-${{ matrix.name }}
          path: ./wheelhouse/*.whl

  count:
    needs: build-native-wheels
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          pattern: dist-*
          merge-multiple: true
          path: dist
      - run: test "$(ls dist | wc -l)" -eq "$EXPECTED_DISTS"
""",
    ".ci/requirements-cibw.txt": "cibuildwheel==3.2.1\n",
    "pyproject.toml": PYPROJECT.format(name="anchored") + """
[tool.cibuildwheel]
manylinux-x86_64-image = "manylinux_2_28"
manylinux-aarch64-image = "manylinux_2_28"
""",
}

MATURIN_PYPROJECT = """\
[build-system]
requires = ["maturin>=1.7,<2.0"]
build-backend = "maturin"
"""

# maturin's targets in flow-style include entries, aligned in columns, a libc chosen by
# the entry (`manylinux: musllinux_1_1`), cross-compiled on the x86_64 runner.
MATURIN_FLOW_INCLUDE = {
    ".github/workflows/dists.yml": """\
name: dists
on:
  push:
    branches: [main]
  release:
    types: [released]
jobs:
  wheel:
    name: ${{ matrix.os }}-${{ matrix.target }}-${{ matrix.manylinux }}
    strategy:
      fail-fast: false
      matrix:
        include:
        - { os: macos-15,     target: aarch64, manylinux: auto}
        - { os: ubuntu-24.04, target: x86_64,  manylinux: auto}
        - { os: ubuntu-24.04, target: aarch64, manylinux: auto}
        - { os: ubuntu-24.04, target: armv7,   manylinux: auto}
        - { os: ubuntu-24.04, target: s390x,   manylinux: auto}
        - { os: ubuntu-24.04, target: x86_64,  manylinux: musllinux_1_1 }
        - { os: ubuntu-24.04, target: aarch64, manylinux: musllinux_1_1 }
        - { os: windows-2025, target: x86_64,  manylinux: auto}
    runs-on: ${{ matrix.os }}
    steps:
    - uses: actions/checkout@v5
    - uses: actions/setup-python@v6
      with:
        python-version: '3.13'
    - uses: PyO3/maturin-action@v1.49.4
      with:
        target: ${{ matrix.target }}
        manylinux: ${{ matrix.manylinux }}
        args: --release --out dist
""",
    "pyproject.toml": MATURIN_PYPROJECT,
}

# maturin's generated CI: each job's platforms a list of mappings, the runner and the
# target read from it (`matrix.platform.target`).
MATURIN_NESTED = {
    ".github/workflows/CI.yml": """\
name: CI
on: [push, pull_request]
jobs:
  linux:
    runs-on: ${{ matrix.platform.runner }}
    strategy:
      matrix:
        platform:
          - runner: ubuntu-22.04
            target: x86_64
          - runner: ubuntu-22.04
            target: aarch64
          - runner: ubuntu-22.04
            target: s390x
          - runner: ubuntu-22.04
            target: ppc64le
    steps:
      - uses: actions/checkout@v4
      - name: Build wheels
        uses: PyO3/maturin-action@v1
        with:
          target: ${{ matrix.platform.target }}
          args: --release --out dist --find-interpreter
          manylinux: auto
      - name: Upload wheels
        uses: actions/upload-artifact@v4
        with:
          name: wheels-linux-${{ matrix.platform.target }}
          path: dist
  windows:
    runs-on: ${{ matrix.platform.runner }}
    strategy:
      matrix:
        platform:
          - runner: windows-latest
            target: x64
    steps:
      - uses: PyO3/maturin-action@v1
        with:
          target: ${{ matrix.platform.target }}
""",
    "pyproject.toml": MATURIN_PYPROJECT,
}

# Include entries whose image-like key selects one of several cibuildwheel steps (each
# step its own Pythons), the emulated architectures once per selection.
STEP_SELECTOR = {
    ".github/workflows/release.yml": """\
name: Wheels
on: [push]
jobs:
  build_wheels:
    name: Build wheels on ${{ matrix.os }} for ${{ matrix.archs }} using ${{ matrix.manylinux_version }}
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-latest, windows-latest]
        manylinux_version: [manylinux2010, manylinux2014]
        archs: [auto]
        include:
          - os: ubuntu-latest
            archs: aarch64
            manylinux_version: manylinux2010
          - os: ubuntu-latest
            archs: s390x
            manylinux_version: manylinux2010
          - os: ubuntu-latest
            archs: aarch64
            manylinux_version: manylinux2014
          - os: ubuntu-latest
            archs: s390x
            manylinux_version: manylinux2014
    steps:
      - uses: actions/checkout@v4
      - name: Set up QEMU
        if: runner.os == 'Linux' && matrix.archs != 'auto'
        uses: docker/setup-qemu-action@v3
        with:
          platforms: all
      - name: Install cibuildwheel
        run: python -m pip install cibuildwheel==3.2.1
      - name: Build wheels
        if: matrix.manylinux_version == 'manylinux2010'
        env:
          CIBW_BUILD: "cp311-*"
          CIBW_ARCHS_LINUX: ${{ matrix.archs }}
          CIBW_MANYLINUX_X86_64_IMAGE: quay.io/pypa/manylinux2014_x86_64
        run: python -m cibuildwheel . --output-dir dist
      - name: Build wheels
        if: matrix.manylinux_version == 'manylinux2014'
        env:
          CIBW_BUILD: "cp312-* cp313-*"
          CIBW_ARCHS_LINUX: ${{ matrix.archs }}
          CIBW_MANYLINUX_X86_64_IMAGE: manylinux2014
        run: python -m cibuildwheel . --output-dir dist
""",
    "pyproject.toml": PYPROJECT.format(name="selector"),
}

# Entries each naming a runner and a label, the architectures cibuildwheel's `auto` on
# each (`CIBW_ARCHS: ${{ matrix.archs || 'auto' }}`, set by no entry yet), a pyodide
# entry on the x86_64 runner, artifacts named by the label.
RUNNER_ENTRIES_AUTO = {
    ".github/workflows/releasebuild.yml": """\
name: Build
on: [push]
jobs:
  build_wheels:
    name: Build wheel for ${{ matrix.os }}
    runs-on: ${{ matrix.runs-on }}
    strategy:
      fail-fast: false
      matrix:
        include:
          - os: linux-intel
            runs-on: ubuntu-latest
          - os: linux-arm
            runs-on: ubuntu-24.04-arm
          - os: windows-intel
            runs-on: windows-latest
          - os: macos-arm
            # macos-14+ are ARM64 runners
            runs-on: macos-latest
          - os: pyodide
            runs-on: ubuntu-latest
            platform: pyodide
    steps:
      - uses: actions/checkout@v5
      - name: Build wheels
        uses: pypa/cibuildwheel@v3.2.1
        env:
          CIBW_PLATFORM: ${{ matrix.platform || 'auto' }}
          CIBW_ARCHS: ${{ matrix.archs || 'auto' }}
      - uses: actions/upload-artifact@v4
        with:
          name: artifact-${{ matrix.os }}-${{ strategy.job-index }}
          path: ./wheelhouse/*.whl
""",
    "pyproject.toml": PYPROJECT.format(name="autoarchs") + """
[tool.cibuildwheel]
build = "cp312-* cp313-*"
""",
}
