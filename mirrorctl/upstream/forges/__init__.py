"""The forges, behind one door: the ground every call stands on (forge: settings,
errors, retries, paced requests), the ForgeApi interface (api) and its two clients
(github, gitlab), the issues of a tracker (tracker), requests found by branch (pulls),
the builds' results of a branch (results), and pushing a change to the builders' fork
(fork). Nothing else in mirrorctl speaks to a forge.
"""
