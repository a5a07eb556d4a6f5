"""Job 4, the report: where every patch stands (report), the nightly's history it
compares against (history), and the self-contained HTML page (page, templates/).
"""
