"""Job 3, the grade of an upgrade: the build facts of a release (buildconfig), the
pure grade (grading), the `classify` command (classify), new releases and PyPI
(releases, pypi). Never talks to a forge.
"""
