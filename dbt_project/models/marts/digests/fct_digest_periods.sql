-- The figures at the top of each digest: one row per period and audience (grain: period_kind,
-- period_start, audience), for ISO weeks ('week', starting Monday) and calendar months
-- ('month'). audience = 'company' is the whole company; the other values are the departments,
-- each counting the churn events routed to it (fct_churn_event_departments).
--   churned_events / churned_accounts  churn_status = 'churned' with the churn date in the period
--   revenue_lost                       Σ amount_lost of those events (0 where unknown)
--   notices_received                   cancellation notices that arrived in the period
--   notices_saved / notices_open       of those, saved / still open at build time
--   amount_at_risk_open                Σ amount at risk of the ones still open
--   feedback_routed                    feedback items noted in the period routed to the audience
with

events as (
    select
        churn_event_id,
        'company' as audience,
        account_id,
        churn_status,
        cast(amount_lost as decimal(18, 2)) as amount_lost,
        cast(notice_at as date) as notice_on,
        cast(churned_at as date) as churned_on
    from {{ ref('fct_churn_events') }}
),

event_departments as (
    select
        churn_event_id,
        department as audience,
        account_id,
        churn_status,
        amount_lost,
        notice_on,
        churned_on
    from {{ ref('fct_churn_event_departments') }}
),

save_opportunities as (
    select
        churn_event_id,
        amount_at_risk
    from {{ ref('mart_save_opportunities') }}
),

feedback_items as (
    select
        feedback_id,
        'company' as audience,
        cast(noted_at as date) as noted_on
    from {{ ref('fct_feedback_items') }}
),

feedback_routing as (
    select
        feedback_id,
        department as audience,
        cast(noted_at as date) as noted_on
    from {{ ref('fct_feedback_routing') }}
),

audiences as (
    select 'company' as audience
    union all by name
    select distinct department as audience from {{ ref('category_departments') }}
    where department not in ('none', 'triage')
),

all_events as (
    select * from events
    union all by name
    select * from event_departments
),

all_feedback as (
    select * from feedback_items
    union all by name
    select * from feedback_routing
),

bounds as (
    select
        least(min(notice_on), min(churned_on)) as first_day,
        greatest(max(notice_on), max(churned_on), {{ as_of_date() }}) as last_day
    from events
),

periods as (
    select
        'week' as period_kind,
        cast(unnest(generate_series(
            date_trunc('week', first_day), date_trunc('week', last_day), interval 7 day
        )) as date) as period_start
    from bounds
    where first_day is not null
    union all by name
    select
        'month' as period_kind,
        cast(unnest(generate_series(
            date_trunc('month', first_day), date_trunc('month', last_day), interval 1 month
        )) as date) as period_start
    from bounds
    where first_day is not null
),

period_audiences as (
    select
        periods.period_kind,
        periods.period_start,
        cast(case periods.period_kind
            when 'week' then periods.period_start + interval 7 day
            else periods.period_start + interval 1 month
        end as date) as period_end,
        audiences.audience
    from periods
    cross join audiences
),

churned as (
    select
        period_audiences.period_kind,
        period_audiences.period_start,
        period_audiences.audience,
        count(*) as churned_events,
        -- an orphaned churn (account archived, deleted or not synced) is still a lost logo
        count(distinct coalesce(all_events.account_id, all_events.churn_event_id)) as churned_accounts,
        sum(coalesce(all_events.amount_lost, 0)) as revenue_lost
    from period_audiences
    inner join all_events
        on
            period_audiences.audience = all_events.audience
            and all_events.churn_status = 'churned'
            and period_audiences.period_start <= all_events.churned_on
            and period_audiences.period_end > all_events.churned_on
    group by all
),

notices as (
    select
        period_audiences.period_kind,
        period_audiences.period_start,
        period_audiences.audience,
        count(*) as notices_received,
        count(*) filter (where all_events.churn_status = 'saved') as notices_saved,
        count(*) filter (where all_events.churn_status = 'open') as notices_open,
        sum(coalesce(save_opportunities.amount_at_risk, 0)) filter (where all_events.churn_status = 'open')
            as amount_at_risk_open
    from period_audiences
    inner join all_events
        on
            period_audiences.audience = all_events.audience
            and period_audiences.period_start <= all_events.notice_on
            and period_audiences.period_end > all_events.notice_on
    left join save_opportunities on all_events.churn_event_id = save_opportunities.churn_event_id
    group by all
),

feedback as (
    select
        period_audiences.period_kind,
        period_audiences.period_start,
        period_audiences.audience,
        count(distinct all_feedback.feedback_id) as feedback_routed
    from period_audiences
    inner join all_feedback
        on
            period_audiences.audience = all_feedback.audience
            and period_audiences.period_start <= all_feedback.noted_on
            and period_audiences.period_end > all_feedback.noted_on
    group by all
),

final as (
    select
        period_audiences.period_kind,
        period_audiences.period_start,
        period_audiences.period_end,
        period_audiences.audience,
        coalesce(churned.churned_events, 0) as churned_events,
        coalesce(churned.churned_accounts, 0) as churned_accounts,
        cast(coalesce(churned.revenue_lost, 0) as decimal(18, 2)) as revenue_lost,
        coalesce(notices.notices_received, 0) as notices_received,
        coalesce(notices.notices_saved, 0) as notices_saved,
        coalesce(notices.notices_open, 0) as notices_open,
        cast(coalesce(notices.amount_at_risk_open, 0) as decimal(18, 2)) as amount_at_risk_open,
        coalesce(feedback.feedback_routed, 0) as feedback_routed
    from period_audiences
    left join churned using (period_kind, period_start, audience)
    left join notices using (period_kind, period_start, audience)
    left join feedback using (period_kind, period_start, audience)
)

select * from final
