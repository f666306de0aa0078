"""Every distinct stated reason read by the feedback classifier (see churnkb.classification.stated_reasons)."""


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.config.get("data_dir")  # read here so dbt records it as a config of this model
    events = dbt.ref("int_churn_events_merged")  # a literal ref: dbt reads the lineage from it
    from churnkb.classification.stated_reasons import classified_stated_reasons

    return classified_stated_reasons(dbt, events)
