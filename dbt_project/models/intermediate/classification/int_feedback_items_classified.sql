-- Every collected piece of feedback with its reason categories and departments.
-- The SQL comes from the classify_texts macro, the same SQL `churnkb classify` runs.
with

classified as (
    {{ classify_texts(
        ref('int_feedback_items_collected'),
        ref('feedback_classification_rules'),
        ref('feedback_negation_cues'),
        ref('category_departments'),
        id_column='feedback_id',
        text_column='body_text'
    ) }}
),

collected as (
    select * from {{ ref('int_feedback_items_collected') }}
),

final as (
    select
        collected.feedback_id,
        collected.churn_event_id,
        collected.account_id,
        collected.source_system,
        collected.source_record_id,
        collected.feedback_source,
        collected.noted_at,
        collected.body_text,
        collected.is_exit_interview,
        classified.primary_category as category,
        classified.categories,
        classified.department,
        classified.departments,
        classified.matched_rule_ids,
        classified.negated_rule_ids
    from collected
    inner join classified on classified.text_id = collected.feedback_id
)

select * from final
