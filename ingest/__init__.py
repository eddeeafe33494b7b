"""Ingest: snapshot files -> validated, normalised rows, quarantine, report and digest."""
