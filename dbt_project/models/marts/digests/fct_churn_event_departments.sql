-- Which department's digest each churn event belongs to: one row per churn event and owning
-- department (grain: churn_event_id, department), by the event's primary reason and the routing
-- seed category_departments (competitor: product and sales; company churn and unknown reasons
-- route to no department and appear only in the company-wide figures). Carries the dates a
-- digest filters on, already truncated to the week (ISO, Monday) and month they fall in.
with

events as (
    select * from {{ ref('fct_churn_events') }}
),

routing as (
    select
        category,
        department
    from {{ ref('category_departments') }}
),

save_opportunities as (
    select
        churn_event_id,
        amount_at_risk,
        suggested_play
    from {{ ref('mart_save_opportunities') }}
),

final as (
    select
        events.churn_event_id,
        routing.department,
        events.account_id,
        events.churn_status,
        events.primary_reason_category,
        events.stated_reason_raw,
        events.is_voluntary,
        events.competitor_name,
        events.owner_id,
        events.source_system,
        events.source_record_id,
        cast(events.amount_lost as decimal(18, 2)) as amount_lost,
        save_opportunities.amount_at_risk,
        save_opportunities.suggested_play,
        cast(events.notice_at as date) as notice_on,
        cast(events.churned_at as date) as churned_on,
        cast(date_trunc('week', events.churned_at) as date) as churn_week,
        cast(date_trunc('month', events.churned_at) as date) as churn_month,
        cast(date_trunc('week', events.notice_at) as date) as notice_week,
        cast(date_trunc('month', events.notice_at) as date) as notice_month
    from events
    inner join routing on events.primary_reason_category = routing.category
    left join save_opportunities on events.churn_event_id = save_opportunities.churn_event_id
    where routing.department not in ('none', 'triage')
)

select * from final
