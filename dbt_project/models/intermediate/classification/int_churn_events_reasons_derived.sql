-- The reason a churn event's exit feedback gives (replaces part A's placeholder; the contract with
-- fct_churn_events is one row per churn_event_id with a derived reason).
-- Only exit-interview items count: a support ticket's text says what went wrong that day, not why
-- the customer left. Each note votes for its primary category with the classifier's confidence
-- in it (a note without one votes 1), so a sure "primary driver: they chose X" outweighs a
-- hesitant note; the latest note breaks ties; notes nobody could read ('unknown') never override
-- the stated reason.
with

exit_feedback as (
    select
        churn_event_id,
        category,
        noted_at,
        coalesce(category_confidence, 1.0) as vote_weight
    from {{ ref('int_feedback_items_classified') }}
    where
        is_exit_interview
        and churn_event_id is not null
        and category <> 'unknown'
),

category_votes as (
    select
        churn_event_id,
        category,
        sum(vote_weight) as category_weight,
        max(noted_at) as latest_noted_at
    from exit_feedback
    group by churn_event_id, category
),

ranked as (
    select
        *,
        row_number() over (
            partition by churn_event_id
            order by category_weight desc, latest_noted_at desc nulls last, category asc
        ) as vote_rank
    from category_votes
),

final as (
    select
        cast(churn_event_id as varchar) as churn_event_id,
        cast(category as varchar) as derived_reason_category
    from ranked
    where vote_rank = 1
)

select * from final
