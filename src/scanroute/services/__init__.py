"""Use cases shared by the REST API and the CLI: validation, authorisation, persistence."""
