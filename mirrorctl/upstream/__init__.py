"""Job 4, upstream: what mirrorctl asks of upstream projects. The forge clients
(forges/: GitHub and GitLab behind one door, trackers, forks, build results), drafts of
requests for single patches (drafts; the front matter of every draft, front), sending
them (submit), each patch's Upstream-Status refreshed from its request (refresh), and
the campaign for upstream's own riscv64 wheels (wheels/).
"""
