"""Shared core of the report archive: models, config, text handling, embedders, backends."""
