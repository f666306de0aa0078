"""The body of the dbt Python model ``int_feedback_items_classified``.

Why a dbt-duckdb Python model (and not a UDF plugin or a step outside dbt): the classifier is
Python (scikit-learn), the model runs inside ``dbt build`` in the same process and transaction as
every other model, so lineage, tests, contracts and the atomic warehouse swap stay dbt's, and no
profile plugin has to be configured per deployment. A UDF would classify row by row inside SQL
(slow, and a trained model would have to be loaded per connection); a step outside dbt would split
the build in two. The model calls ``classify_items``, the function ``churnkb classify`` calls.

Incremental: only items new or changed since the last build are classified (any column, the text
included); items no longer collected are removed. ``classified_with`` fingerprints everything the
classification reads besides the text (trained model = corpus + analysts' labels + rule seeds,
routing seed, configured features) and the back-end (local, or the LLM's model name and prompt
version), so a new label, corpus batch, seed edit or back-end reclassifies all. A row the local
model classified stands under the local fingerprint: when the LLM back-end fell back for it, the
next build asks the endpoint again (answers it gave are cached, so only those are re-sent).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from churnkb.classification.llm import LlmSettings, settings_from_dict
from churnkb.classification.service import ROUTING_CSV, ItemResult, classify_items
from churnkb.classification.store import load_model

ITEM_COLUMNS = ("feedback_id", "churn_event_id", "account_id", "source_system", "source_record_id",
                "feedback_source", "noted_at", "body_text", "is_exit_interview")
RESULT_SCHEMA = pa.schema([
    ("feedback_id", pa.string()),
    ("category", pa.string()),
    ("categories", pa.list_(pa.string())),
    ("department", pa.string()),
    ("departments", pa.list_(pa.string())),
    ("matched_rule_ids", pa.list_(pa.string())),
    ("category_confidence", pa.float64()),
    ("category_scores", pa.map_(pa.string(), pa.float64())),
    ("classified_by", pa.string()),
    ("theme", pa.string()),
    ("feature_requests", pa.list_(pa.string())),
    ("competitors_switched_to", pa.list_(pa.string())),
    ("competitors_mentioned", pa.list_(pa.string())),
    ("parting_sentiment", pa.string()),
    ("valued", pa.list_(pa.string())),
    ("would_return", pa.bool_()),
    ("would_recommend", pa.bool_()),
    ("open_to_reference", pa.bool_()),
])


def result_row(item: ItemResult) -> dict[str, Any]:
    return {
        "feedback_id": item.id, "category": item.primary_category, "categories": item.categories,
        "department": item.department, "departments": item.departments,
        "matched_rule_ids": item.matched_rule_ids, "category_confidence": item.confidence,
        "category_scores": list(item.scores.items()), "classified_by": item.classified_by,
        "theme": item.theme, "feature_requests": item.feature_requests,
        "competitors_switched_to": item.competitors_switched_to,
        "competitors_mentioned": item.competitors_mentioned,
        "parting_sentiment": item.parting_sentiment, "valued": item.valued,
        "would_return": item.would_return, "would_recommend": item.would_recommend,
        "open_to_reference": item.open_to_reference,
    }


def classified_items(dbt: Any, session: Any, collected: Any) -> pa.Table:
    """dbt-duckdb calls this through the model file; returns the rows to (re)write."""
    data_dir = Path(dbt.config.get("data_dir"))
    features = json.loads(dbt.config.get("classification_features") or "{}")
    llm = settings_from_dict(json.loads(dbt.config.get("classification_llm") or "null"))
    model = load_model(data_dir)
    fingerprint = _fingerprint(model.fingerprint, features, llm)
    local_fingerprint = _fingerprint(model.fingerprint, features, None)
    columns = ", ".join(ITEM_COLUMNS)
    query = f"select {columns} from collected"
    if dbt.is_incremental and _has_column(session, dbt.this, "classified_with"):
        _remove_vanished(session, collected, dbt.this)
        query += (f" except select {columns} from {dbt.this}"
                  f" where classified_with = '{fingerprint}'")
    to_classify = collected.query("collected", query).to_arrow_table()
    items = zip(to_classify.column("feedback_id").to_pylist(), to_classify.column("body_text").to_pylist(),
                strict=True)
    results = classify_items(items, data_dir, features, model=model, llm=llm)
    classified = pa.Table.from_pylist([result_row(r) for r in results], schema=RESULT_SCHEMA)
    classified = classified.append_column("classified_with", pa.array(
        [local_fingerprint if r.classified_by == "model" else fingerprint for r in results], pa.string()))
    session.register("churnkb_to_classify", to_classify)
    session.register("churnkb_classified", classified)
    try:
        joined = session.sql(
            "select t.*, c.* exclude (feedback_id) "
            "from churnkb_to_classify as t join churnkb_classified as c using (feedback_id)"
        ).to_arrow_table()
    finally:
        session.unregister("churnkb_to_classify")
        session.unregister("churnkb_classified")
    return joined


def _fingerprint(model_fingerprint: str, features: dict[str, Any], llm: LlmSettings | None) -> str:
    parts = [model_fingerprint, ROUTING_CSV.read_text(encoding="utf-8"), json.dumps(features, sort_keys=True)]
    if llm is not None:  # the local back-end keeps the fingerprint it always had
        parts.append(llm.fingerprint)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _has_column(session: Any, this: Any, column: str) -> bool:
    names = [row[0] for row in session.sql(f"describe {this}").fetchall()]
    return column in names


def _remove_vanished(session: Any, collected: Any, this: Any) -> None:
    ids = collected.query("collected", "select feedback_id from collected").to_arrow_table()
    session.register("churnkb_collected_ids", ids)
    try:
        session.execute(f"delete from {this} where feedback_id not in "
                        "(select feedback_id from churnkb_collected_ids)")
    finally:
        session.unregister("churnkb_collected_ids")
