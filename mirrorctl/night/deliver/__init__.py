"""Delivering the night's work to the builders' repository and mirrors: the upgrade as
their pull request (upgrade_request, with its branch, changes and files edited as a
person would: branch, changes, files, apply_steps, in the checkout kept for it: repo),
the mirror's merge request (mirror_request), an older request superseded (supersede),
the open requests listed once a night (requests), retirement (retire_request,
retire_files), and after the merge, the build dispatched (dispatch) and followed to its
published wheels (publish), the builds read for the grade (build_results).
"""
