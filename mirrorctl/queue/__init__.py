"""Job 2, the patch queues: their files (patches, with their Upstream-Status lines,
status, and what a diff may do, diffs), which folder is current (folders), replaying
them in git objects (replay), the rebase engine (engine) and what upstream shows it took
(evidence), remembered resolutions (resolve), a queue to a branch and back (branches),
`rebase` with --continue (carry; a rebase waiting for a person, waiting), the last carry
as the record keeps it (carried), and what was read of queue files, kept (kept). Never
talks to a forge.
"""
