"""The shared ground every wing stands on: git (the one module that runs it), the
config and its YAML loader, errors and exit statuses, files written whole, the
work-directory lock, redaction, retries, URLs, tag formats, the vocabulary of a grade,
and the progress protocol. It imports no other wing.
"""
