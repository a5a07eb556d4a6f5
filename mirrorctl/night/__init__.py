"""The layer that composes a night from the wings below. The nightly run: its driver
(nightly), its stages over what the night has found (stages), what they find needs a
person (needs), the morning's report (morning), the stacks (stacks), the campaign's
rows and support issues (campaign), the tracking issues (notices), one package's
upgrade carried, graded, delivered and recorded (upgrade). Below: delivering to the
builders' repository and mirrors (deliver/), the nightly as a CI pipeline (ci/), and
the demo sandbox (demo).
"""
