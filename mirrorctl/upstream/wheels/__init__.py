"""Upstream's own riscv64 wheels, the campaign: where each package's road stands (road,
decided from its facts by verdict; cihistory, state, asks, search), whether and how
upstream's CI builds its Linux wheels (ci; each job read by its tool, cibwjob or
maturinjob, into a wheeljob, with the cibuildwheel it pins, cibwpin; matrix,
expressions, archlists), the change that adds riscv64 as upstream would write it (draft
from a plan: where riscv64 runs, runners and qemujob, the settings it joins, configs;
edited in place by core.yamledit, and proved by proof with cibwtool), the request
around it (request), and sending it once a person has read it (submit).
"""
