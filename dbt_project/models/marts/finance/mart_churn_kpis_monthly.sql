-- Monthly churn KPIs per primary reason category (a complete month x category grid, zeros where
-- nothing happened). See the glossary in _finance__models.yml for each formula.
with

events as (
    select * from {{ ref('fct_churn_events') }}
),

checklist as (
    select
        churn_event_id,
        acknowledge_done_at
    from {{ ref('mart_offboarding_checklist') }}
),

won_back as (
    select churn_event_id from {{ ref('int_churn_events_won_back') }}
),

categories as (
    select distinct category from {{ ref('category_departments') }}
),

bounds as (
    select
        date_trunc('month', min(least(coalesce(notice_at, churned_at), coalesce(churned_at, notice_at))))
            as first_month,
        date_trunc('month', max(greatest(coalesce(notice_at, churned_at), coalesce(churned_at, notice_at))))
            as last_month
    from events
),

months as (
    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date) as kpi_month
    from bounds
    where first_month is not null
),

churned as (
    -- churn recognised on the churn (effective) date
    select
        cast(date_trunc('month', events.churned_at) as date) as kpi_month,
        events.primary_reason_category as category,
        count(*) as churn_count,
        sum(coalesce(events.amount_lost, 0)) as amount_lost,
        count(won_back.churn_event_id) as won_back_count
    from events
    left join won_back on events.churn_event_id = won_back.churn_event_id
    where events.churn_status = 'churned' and events.churned_at is not null
    group by all
),

notices as (
    -- notices counted in the month they arrived
    select
        cast(date_trunc('month', events.notice_at) as date) as kpi_month,
        events.primary_reason_category as category,
        count(*) as notice_count,
        count(*) filter (where events.churn_status = 'saved') as saved_count,
        count(*) filter (where events.churn_status in ('saved', 'churned')) as resolved_notice_count,
        count(checklist.acknowledge_done_at) as acknowledged_count,
        avg(date_diff('minute', events.notice_at, checklist.acknowledge_done_at) / 1440.0)
            as avg_days_to_acknowledge
    from events
    left join checklist on events.churn_event_id = checklist.churn_event_id
    where events.notice_at is not null
    group by all
),

final as (
    select
        months.kpi_month,
        categories.category,
        coalesce(churned.churn_count, 0) as churn_count,
        cast(coalesce(churned.amount_lost, 0) as decimal(18, 2)) as amount_lost,
        coalesce(notices.notice_count, 0) as notice_count,
        coalesce(notices.acknowledged_count, 0) as acknowledged_count,
        round(notices.avg_days_to_acknowledge, 2) as avg_days_to_acknowledge,
        coalesce(notices.saved_count, 0) as saved_count,
        coalesce(notices.resolved_notice_count, 0) as resolved_notice_count,
        round(notices.saved_count / nullif(notices.resolved_notice_count, 0), 4) as save_rate,
        coalesce(churned.won_back_count, 0) as won_back_count,
        round(churned.won_back_count / nullif(churned.churn_count, 0), 4) as win_back_rate
    from months
    cross join categories
    left join churned on months.kpi_month = churned.kpi_month and categories.category = churned.category
    left join notices on months.kpi_month = notices.kpi_month and categories.category = notices.category
)

select * from final
