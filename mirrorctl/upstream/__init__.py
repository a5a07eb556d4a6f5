"""Job 4, upstream: the forge clients (forge), request drafts (drafts), submitting them
(submit), and refreshing each patch's Upstream-Status from its request (refresh).
"""
