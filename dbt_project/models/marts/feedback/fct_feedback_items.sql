-- One classified piece of feedback (docs/architecture.md, "Marts"): `category` is the primary category and
-- `department` its owner; `categories` / `departments` hold every reason the text gives.
with

classified as (
    select * from {{ ref('int_feedback_items_classified') }}
),

final as (
    select
        feedback_id,
        churn_event_id,
        account_id,
        source_system,
        source_record_id,
        feedback_source,
        noted_at,
        body_text,
        category,
        department,
        categories,
        departments,
        is_exit_interview,
        matched_rule_ids,
        category_confidence,
        category_scores,
        classified_by,
        theme,
        feature_requests,
        competitors_switched_to,
        competitors_mentioned,
        parting_sentiment,
        valued,
        would_return,
        would_recommend,
        open_to_reference
    from classified
)

select * from final
