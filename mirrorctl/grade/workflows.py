"""The builders' own workflows of a package, in the repository that holds mirrors.yaml
(their python-wheels): the files that build or test it, and the cibuildwheel options
those builds set themselves (CIBW_*), which decide whether a change of upstream's
[tool.cibuildwheel] reaches their build.

The workflows are read one way, by the ground (core.buildsite); re-exported here for
the grade.
"""

from __future__ import annotations

from mirrorctl.core.buildsite import cibuildwheel_options, package_workflows, version_files

__all__ = ["cibuildwheel_options", "package_workflows", "version_files"]
