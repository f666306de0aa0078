-- How each churn event's customer parted (glossary: fct_churn_events, "The parting"): one row per
-- churn event with parting feedback. Parting feedback is what the customer said on the way out:
-- exit-interview items, and any item written on or after the notice (the cancellation request
-- itself, a note after the churn); a support ticket from before the notice is not the parting.
--   parting_sentiment   negative when any parting item is negative (one sour note is what a
--                       win-back or a reference ask must know), else positive when any is
--                       positive, else neutral; NULL when no item has a sentiment.
--   would_return,       the customer's latest word on it: the most recent item that says true or
--   would_recommend,    false (an item that says nothing, NULL, never counts); two items of the
--   open_to_reference   same moment that disagree give false. NULL when no item says.
--   parting_valued      everything they said they valued, over all parting items (sorted, distinct).
with

classified as (
    select * from {{ ref('int_feedback_items_classified') }}
),

events as (
    select * from {{ ref('int_churn_events_merged') }}
),

parting_items as (
    select
        classified.churn_event_id,
        classified.feedback_id,
        classified.noted_at,
        classified.parting_sentiment,
        classified.valued,
        classified.would_return,
        classified.would_recommend,
        classified.open_to_reference
    from classified
    inner join events on classified.churn_event_id = events.churn_event_id
    where
        classified.is_exit_interview
        or classified.noted_at >= coalesce(events.notice_at, events.churned_at)
),

valued_mentions as (
    select
        churn_event_id,
        unnest(valued) as valued_item
    from parting_items
),

valued_per_event as (
    select
        churn_event_id,
        list(distinct valued_item order by valued_item) as parting_valued
    from valued_mentions
    group by churn_event_id
),

summarised as (
    select
        churn_event_id,
        count(*) as parting_feedback_count,
        case
            when bool_or(parting_sentiment = 'negative') then 'negative'
            when bool_or(parting_sentiment = 'positive') then 'positive'
            when bool_or(parting_sentiment = 'neutral') then 'neutral'
        end as parting_sentiment,
        first(would_return order by noted_at desc nulls last, would_return asc)
        filter (where would_return is not null) as would_return,
        first(would_recommend order by noted_at desc nulls last, would_recommend asc)
        filter (where would_recommend is not null) as would_recommend,
        first(open_to_reference order by noted_at desc nulls last, open_to_reference asc)
        filter (where open_to_reference is not null) as open_to_reference
    from parting_items
    group by churn_event_id
),

final as (
    select
        cast(summarised.churn_event_id as varchar) as churn_event_id,
        cast(summarised.parting_feedback_count as integer) as parting_feedback_count,
        cast(summarised.parting_sentiment as varchar) as parting_sentiment,
        summarised.would_return,
        summarised.would_recommend,
        summarised.open_to_reference,
        coalesce(valued_per_event.parting_valued, []) as parting_valued
    from summarised
    left join valued_per_event on summarised.churn_event_id = valued_per_event.churn_event_id
)

select * from final
