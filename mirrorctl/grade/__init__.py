"""Job 3, the grade of an upgrade: the build facts of a release (buildconfig), the
builds' own results (builds) and the builders' workflows (workflows), the pure grade
(grading), the `classify` command (classify), the last upgrade's grade and road as the
record keeps them (upgrade, road); new releases (releases) on PyPI (pypi) and in the
builders' registry (registry); and what blocks what in the stacks: the closure
resolved (stack) from a package index (index), how each release installs on riscv64
(stackinstall), the roots (stackroots), what building a blocker needs (stacksources),
its proposed mirrors.yaml entry (stackentries), resolutions kept (stackkept). Never
talks to a forge.
"""
