"""Job 2, the patch queues: their files (patches), replaying them in git objects
(replay), the rebase engine (engine), remembered resolutions (resolve), a queue to a
branch and back (branches), and `rebase` with --continue (carry). Never talks to a
forge.
"""
