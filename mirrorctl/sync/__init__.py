"""Job 1, the nightly sync: upstream branches and release tags into the package's
cache and its mirror (refplan decides, run does, with sameproject, pushed and
recording; state remembers, standing reads how the last sync stands), and the cache
itself, which every later job reads (cache).
"""
