-- The analysts' review queue (`churnkb review export`): one row per feedback item the model (or
-- the optional LLM back-end, by the confidence it states) classified with a confidence in its
-- primary category below `review_confidence_threshold` (config
-- classification.review_confidence_threshold). An item an analyst has labelled leaves
-- the queue (classified_by = 'analyst'); an item without text has nothing to label.
-- `text_hash` is the MD5 of the text the analyst reads: `churnkb review import` refuses a label
-- whose text has changed in the CRM since the export.
with

items as (
    select * from {{ ref('fct_feedback_items') }}
),

events as (
    select * from {{ ref('fct_churn_events') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

uncertain as (
    select *
    from items
    where
        classified_by in ('model', 'llm')
        and category_confidence < {{ var('review_confidence_threshold') }}
        and trim(coalesce(body_text, '')) <> ''
),

final as (
    select
        uncertain.feedback_id,
        cast(row_number() over (
            order by uncertain.category_confidence asc, uncertain.noted_at desc nulls last, uncertain.feedback_id asc
        ) as integer) as review_rank,
        md5(uncertain.body_text) as text_hash,
        case
            when length(uncertain.body_text) > 280 then left(uncertain.body_text, 279) || '…'
            else uncertain.body_text
        end as text_excerpt,
        uncertain.body_text,
        uncertain.category as predicted_category,
        uncertain.categories as predicted_categories,
        uncertain.category_confidence as predicted_confidence,
        uncertain.category_scores as predicted_scores,
        uncertain.account_id,
        accounts.account_name,
        uncertain.churn_event_id,
        events.churned_at,
        events.stated_reason_raw,
        uncertain.feedback_source,
        uncertain.source_system,
        uncertain.noted_at,
        uncertain.is_exit_interview
    from uncertain
    left join accounts on uncertain.account_id = accounts.account_id
    left join events on uncertain.churn_event_id = events.churn_event_id
)

select * from final
