"""The layer that composes a night from the wings below: the nightly run (nightly),
the mirror merge request after a rebase (mirror_request), the CI pipeline
(pipeline) and the demo sandbox (demo).
"""
