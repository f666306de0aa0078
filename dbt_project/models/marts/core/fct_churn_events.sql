-- One row per churn event: a real departure across both CRMs (closed-lost renewal/deal and/or
-- cancellation request), with the stated reason, the derived reason and the primary reason, and
-- how the customer parted (sentiment, what they valued, would they return / recommend / be a reference).
{{ config(materialized='table') }}

with events as (
    select * from {{ ref('int_churn_events_merged') }}
),

stated as (
    select * from {{ ref('int_churn_events_reasons_stated') }}
),

amounts as (
    select * from {{ ref('int_churn_events_amounts') }}
),

derived as (
    -- owned by part B (classification); a placeholder with zero rows until it lands
    select
        churn_event_id,
        derived_reason_category
    from {{ ref('int_churn_events_reasons_derived') }}
),

parting as (
    select * from {{ ref('int_churn_events_parting') }}
),

final as (
    select
        events.churn_event_id,
        events.source_system,
        events.source_object,
        events.source_record_id,
        events.event_type,
        events.churn_status,
        events.account_id,
        events.notice_at,
        events.notice_source_system,
        events.notice_record_id,
        events.churned_at,
        cast(amounts.amount_lost as decimal(18, 2)) as amount_lost,
        amounts.amount_lost_source,
        stated.stated_reason_raw,
        stated.stated_reason_category,
        stated.stated_reason_mapped_by,
        stated.is_stated_reason_unmapped,
        derived.derived_reason_category,
        coalesce(derived.derived_reason_category, stated.stated_reason_category, 'unknown')
            as primary_reason_category,
        case
            when derived.derived_reason_category is not null then 'derived'
            when stated.stated_reason_category is not null then 'stated'
            else 'none'
        end as primary_reason_source,
        coalesce(derived.derived_reason_category, stated.stated_reason_category, 'unknown') <> 'involuntary'
            as is_voluntary,
        events.competitor_raw as competitor_name,
        events.owner_id,
        cast(events.source_record_count as integer) as source_record_count,
        events.source_system_count > 1 as is_in_both_crms,
        coalesce(parting.parting_feedback_count, 0) as parting_feedback_count,
        parting.parting_sentiment,
        coalesce(parting.parting_valued, []) as parting_valued,
        parting.would_return,
        parting.would_recommend,
        parting.open_to_reference
    from events
    inner join stated on events.churn_event_id = stated.churn_event_id
    inner join amounts on events.churn_event_id = amounts.churn_event_id
    left join derived on events.churn_event_id = derived.churn_event_id
    left join parting on events.churn_event_id = parting.churn_event_id
)

select * from final
