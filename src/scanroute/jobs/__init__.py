"""Background jobs: a registry of named jobs with intervals and a scheduler every worker runs."""
