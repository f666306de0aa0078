-- One classified piece of feedback (DESIGN.md marts table): `category` is the primary category and
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
        -- Filled by the learned classifier and text extraction (see the glossary); NULL until then.
        cast(null as double) as category_confidence,
        cast(null as map(varchar, double)) as category_scores,
        'rules' as classified_by,
        cast(null as varchar) as theme,
        cast(null as varchar[]) as feature_requests,
        cast(null as varchar[]) as competitors_switched_to,
        cast(null as varchar[]) as competitors_mentioned,
        cast(null as varchar) as parting_sentiment,
        cast(null as varchar[]) as valued,
        cast(null as boolean) as would_return,
        cast(null as boolean) as would_recommend,
        cast(null as boolean) as open_to_reference
    from classified
)

select * from final
