-- What the account looked like in the N days before its notice (90 by default,
-- warehouse.lookback_days), next to the same measures for retained accounts over the same dates.
-- The reference date is the notice (or the churn date when no notice was recorded).
-- Retained accounts: accounts with no churn event at all that existed before the window started.
{%- set lookback_days = var('lookback_days', 90) | int %}

with

events as (
    select
        churn_event_id,
        account_id,
        primary_reason_category,
        churn_status,
        coalesce(notice_at, churned_at) as reference_at
    from {{ ref('fct_churn_events') }}
    where coalesce(notice_at, churned_at) is not null
),

signals as (
    select * from {{ ref('int_account_signals') }}
),

retained_accounts as (
    select
        accounts.account_id,
        accounts.first_seen_at
    from {{ ref('dim_accounts') }} as accounts
    where accounts.account_id not in (
        select churn_events.account_id from {{ ref('fct_churn_events') }} as churn_events
        where churn_events.account_id is not null
    )
),

event_measures as (
    select
        events.churn_event_id,
        count(*) filter (where signals.signal_type = 'case') as cases_90d,
        count(*) filter (where signals.signal_type = 'activity') as activities_90d,
        count(*) filter (where signals.signal_type = 'nps') as nps_responses_90d,
        avg(signals.value) filter (where signals.signal_type = 'nps') as nps_avg_90d,
        arg_max(signals.value, signals.signal_at) filter (where signals.signal_type = 'nps') as nps_last_90d
    from events
    inner join signals
        on
            events.account_id = signals.account_id
            and signals.signal_at >= events.reference_at - interval {{ lookback_days }} day
            and events.reference_at > signals.signal_at
    group by events.churn_event_id
),

nps_before_window as (
    select
        events.churn_event_id,
        arg_max(signals.value, signals.signal_at) as nps_before_90d
    from events
    inner join signals
        on
            events.account_id = signals.account_id
            and signals.signal_type = 'nps'
            and signals.signal_at < events.reference_at - interval {{ lookback_days }} day
    group by events.churn_event_id
),

amounts as (
    -- the last two won amounts before the notice: a drop is a downgrade
    select
        events.churn_event_id,
        list(signals.value order by signals.signal_at desc)[1] as last_won_amount,
        list(signals.value order by signals.signal_at desc)[2] as previous_won_amount
    from events
    inner join signals
        on
            events.account_id = signals.account_id
            and signals.signal_type = 'won_amount'
            and events.reference_at > signals.signal_at
    group by events.churn_event_id
),

retained_accounts_by_date as (
    -- how many retained accounts had been seen by each first-seen date (ties counted together)
    select
        first_seen_at,
        count(*) over (order by first_seen_at) as accounts_seen
    from retained_accounts
    where first_seen_at is not null
),

reference_dates as (
    -- the baseline depends only on the reference date, so it is computed once per date, not
    -- once per event (many events share a notice date)
    select distinct reference_at from events
),

baseline_population as (
    -- the running count at the last first-seen date before the window: no date x account pairs
    select
        reference_dates.reference_at,
        retained_accounts_by_date.accounts_seen as retained_accounts
    from reference_dates
    asof inner join retained_accounts_by_date
        on reference_dates.reference_at - interval {{ lookback_days }} day > retained_accounts_by_date.first_seen_at
),

retained_signal_spans as (
    -- a retained signal counts for a window start L when the account was first seen before L and
    -- the signal falls in [L, L + N days): that is L in (greatest(first seen, signal - N days), signal]
    select
        signals.signal_type,
        signals.value,
        greatest(retained_accounts.first_seen_at, signals.signal_at - interval {{ lookback_days }} day)
            as span_opens_after,
        signals.signal_at as span_closes_at
    from signals
    inner join retained_accounts on signals.account_id = retained_accounts.account_id
    where
        signals.signal_type in ('case', 'activity', 'nps')
        and greatest(retained_accounts.first_seen_at, signals.signal_at - interval {{ lookback_days }} day)
        < signals.signal_at
),

span_edges as (
    -- +1 where a span opens, -1 where it closes; a window start L sees the spans opened before L
    -- minus those closed before L, so each count is one running sum read with an ASOF join
    select
        span_opens_after as edge_at,
        1 as direction,
        signal_type,
        value
    from retained_signal_spans
    union all by name
    select
        span_closes_at as edge_at,
        -1 as direction,
        signal_type,
        value
    from retained_signal_spans
),

edges_by_time as (
    select
        edge_at,
        sum(direction) filter (where signal_type = 'case') as cases,
        sum(direction) filter (where signal_type = 'activity') as activities,
        sum(direction) filter (where signal_type = 'nps' and value is not null) as nps_values,
        sum(direction * value) filter (where signal_type = 'nps') as nps_value_sum
    from span_edges
    group by edge_at
),

running_spans as (
    select
        edge_at,
        sum(coalesce(cases, 0)) over (order by edge_at) as cases,
        sum(coalesce(activities, 0)) over (order by edge_at) as activities,
        sum(coalesce(nps_values, 0)) over (order by edge_at) as nps_values,
        sum(coalesce(nps_value_sum, 0)) over (order by edge_at) as nps_value_sum
    from edges_by_time
),

baseline_signals as (
    -- the baseline for each reference date: O(signals log signals), no date x signal pairs
    select
        reference_dates.reference_at,
        running_spans.cases,
        running_spans.activities,
        running_spans.nps_value_sum / nullif(running_spans.nps_values, 0) as nps_avg
    from reference_dates
    asof inner join running_spans
        on reference_dates.reference_at - interval {{ lookback_days }} day > running_spans.edge_at
),

final as (
    select
        events.churn_event_id,
        events.account_id,
        events.primary_reason_category,
        events.churn_status,
        events.reference_at,
        {{ lookback_days }} as lookback_days,
        coalesce(event_measures.cases_90d, 0) as cases_90d,
        coalesce(event_measures.activities_90d, 0) as activities_90d,
        coalesce(event_measures.nps_responses_90d, 0) as nps_responses_90d,
        round(event_measures.nps_avg_90d, 2) as nps_avg_90d,
        event_measures.nps_last_90d,
        nps_before_window.nps_before_90d,
        event_measures.nps_last_90d - nps_before_window.nps_before_90d as nps_change_90d,
        amounts.last_won_amount,
        amounts.previous_won_amount,
        amounts.last_won_amount - amounts.previous_won_amount as amount_change,
        coalesce(amounts.last_won_amount < amounts.previous_won_amount, false) as had_downgrade,
        coalesce(baseline_population.retained_accounts, 0) as baseline_retained_accounts,
        round(coalesce(baseline_signals.cases, 0) / nullif(baseline_population.retained_accounts, 0), 2)
            as baseline_cases_90d,
        round(coalesce(baseline_signals.activities, 0) / nullif(baseline_population.retained_accounts, 0), 2)
            as baseline_activities_90d,
        round(baseline_signals.nps_avg, 2) as baseline_nps_avg_90d
    from events
    left join event_measures on events.churn_event_id = event_measures.churn_event_id
    left join nps_before_window on events.churn_event_id = nps_before_window.churn_event_id
    left join amounts on events.churn_event_id = amounts.churn_event_id
    left join baseline_population on events.reference_at = baseline_population.reference_at
    left join baseline_signals on events.reference_at = baseline_signals.reference_at
)

select * from final
