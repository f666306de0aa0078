"""Connectors: extract from the CRMs through their client libraries and land to the raw zone."""
