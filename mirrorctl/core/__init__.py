"""The shared ground every wing stands on; it imports no other wing.

- The run and its configuration: run (one run, resolved once), config (mirrors.yaml),
  settings, sections and parsers (its keys, structured sections and values), yamlfile
  (YAML with the line of every key), implied and inventory (mirrors.yaml inferred, and
  brought in line with the builders' lists), buildsite (the builders' repository and
  its workflows, read one way).
- git and processes: git (the only way git runs), repository (one git directory),
  mergetrees (many merges in one process), objects (git's formats without git), tools
  (cibuildwheel, the one other process), urls (what git does with a URL).
- Values: release (a release version), tagformat (release tags), names (PEP 503 names),
  grades (the vocabulary of a grade), needs (what can need a person), stamps (when).
- Files: files (written whole or not at all), keptfile (the codec of every small file
  mirrorctl keeps), record (each package's record), yamledit (exact edits of YAML
  people wrote, and their proof), markdown (what forges render as written).
- Running well: errors (exit statuses), lock (the work directory's lock), retry,
  redact (credentials never shown), progress (the progress protocol), turns (threads
  that take turns at Python).
"""
