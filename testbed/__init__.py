"""What the tests and the benchmarks both stand up, kept apart from either so that the
benchmarks import no test: loopback servers speaking the real APIs (a package index
and registry, GitHub and GitLab forges, a forge with pull requests) and the shapes of
real upstreams' wheel workflows, written for mirrorctl (none copied from a project).
Never shipped: the wheel holds mirrorctl alone.
"""
