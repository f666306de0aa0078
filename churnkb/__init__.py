"""churnkb: the open-source churn knowledge base."""

__version__ = "0.1.0"
