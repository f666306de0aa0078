"""Every collected piece of feedback with its reason categories, confidences and extracted specifics.

The classification is ``churnkb.classification.warehouse_model.classified_items``, which calls
the same function as ``churnkb classify`` (docs/classification.md explains the choice of a Python
model). Incremental on feedback_id: only new or changed items are classified; a new corpus batch,
analyst label, rule seed, routing, configured feature or back-end reclassifies everything.
"""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="feedback_id",
        on_schema_change="append_new_columns",
    )
    # read here so dbt records them as configs of this model (set in _classification__models.yml)
    dbt.config.get("data_dir")
    dbt.config.get("classification_features")
    dbt.config.get("classification_llm")
    collected = dbt.ref("int_feedback_items_collected")  # a literal ref: dbt reads the lineage from it
    from churnkb.classification.warehouse_model import classified_items

    return classified_items(dbt, session, collected)
