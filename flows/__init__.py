"""Prefect flows for churnkb (`flows/churn.py`) and the plain logic they call (`steps`, `schedule`).

Importing this package does not import Prefect; `flows.churn` does.
"""
