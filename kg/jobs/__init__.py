"""Jobs over many inputs: ingest, the main run, evaluation against reviewers, synthetic cases."""
