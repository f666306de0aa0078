"""The body of the dbt Python model ``int_stated_reasons_classified``.

HubSpot's ``closed_lost_reason`` (and its ticket ``cancellation_reason``) is free text in most
portals: reps type "moved to Gainsight" or "cfo froze all software spend", which no row of the
``stated_reason_map`` seed will ever list. Each distinct stated value is read by the same
classifier as the exit notes; ``int_churn_events_reasons_stated`` uses that reading only when no
seed row maps the value, so an analyst's mapping always wins.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from churnkb.classification.service import classify_items

RESULT_SCHEMA = pa.schema([
    ("stated_reason_raw", pa.string()),
    ("category", pa.string()),
    ("category_confidence", pa.float64()),
])


def classified_stated_reasons(dbt: Any, events: Any) -> pa.Table:
    """One row per distinct non-blank stated reason: the classifier's primary category."""
    data_dir = Path(dbt.config.get("data_dir"))
    distinct = events.query(
        "events",
        "select distinct stated_reason_raw from events "
        "where nullif(trim(stated_reason_raw), '') is not null order by 1",
    ).fetchall()
    texts = [row[0] for row in distinct]
    results = classify_items(((_item_id(text), text) for text in texts), data_dir)
    return pa.Table.from_pylist(
        [{"stated_reason_raw": text, "category": result.primary_category,
          "category_confidence": result.confidence} for text, result in zip(texts, results, strict=True)],
        schema=RESULT_SCHEMA,
    )


def _item_id(text: str) -> str:
    # stable per text, and never equal to a feedback item's id (so no analyst label applies by accident)
    return "stated_reason:" + hashlib.sha256(text.encode()).hexdigest()[:16]
