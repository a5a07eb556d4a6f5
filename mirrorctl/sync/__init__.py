"""Job 1, the nightly sync: upstream branches and release tags into the package's
cache and its mirror (refplan decides, run does, state remembers), and the cache
itself, which every later job reads (cache).
"""
