-- PLACEHOLDER, OWNED BY ISSUE 4 PART B (classification): replace this file with the model that
-- derives each churn event's reason category from its classified exit feedback
-- (fct_feedback_items). Contract kept by fct_churn_events: one row per churn_event_id that has a
-- derived reason, columns (churn_event_id varchar, derived_reason_category varchar).
select
    cast(null as varchar) as churn_event_id,
    cast(null as varchar) as derived_reason_category
where false
