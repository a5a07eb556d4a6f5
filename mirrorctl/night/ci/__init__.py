"""The nightly as a pipeline of the builders' CI: GitLab CI (pipeline) and GitHub
Actions (github_workflow), a job a package and a report job, written by
`mirrorctl ci generate`.
"""
