"""Job 4, the report: where every patch stands (report), built now from the records
and caches (build), its JSON both ways (wire), the nightly's history it compares
against (history) and the patch debt over time (debt), when the newest night ran
(nights), the campaign for upstream's wheels (campaign) and the stacks (stacks) as the
morning shows them, one package fact by fact (status), and the self-contained HTML
page (page, templates/).
"""
