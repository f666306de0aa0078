-- One offboarding checklist per churn event: every step of fct_offboarding_checklist_steps
-- (where due dates, statuses and breaches are decided) side by side, for analysts who want one
-- row per churn event. Column names: <step>_due_date, <step>_done_at, <step>_status,
-- is_<step>_breached; followup_window_opens_on.
{%- set warning_days = warehouse_setting('slas', 'handover_warning_days', 3) | int %}
{%- set steps = ['acknowledge', 'save_assessment', 'data_handover', 'exit_interview', 'feedback_routed', 'followup'] %}

with

events as (
    select
        churn_event_id,
        account_id,
        churn_status,
        owner_id,
        notice_at,
        churned_at
    from {{ ref('fct_churn_events') }}
),

steps as (
    select * from {{ ref('fct_offboarding_checklist_steps') }}
),

pivoted as (
    select
        churn_event_id,
        {%- for step in steps %}
            any_value(due_date) filter (where step_key = '{{ step }}') as {{ step }}_due_date,
            {%- if step == 'followup' %}
                any_value(window_opens_on) filter (where step_key = 'followup') as followup_window_opens_on,
            {%- endif %}
            any_value(done_at) filter (where step_key = '{{ step }}') as {{ step }}_done_at,
            any_value(status) filter (where step_key = '{{ step }}') as {{ step }}_status,
            coalesce(bool_or(is_breached) filter (where step_key = '{{ step }}'), false) as is_{{ step }}_breached,
        {%- endfor %}
        cast(count(*) filter (where is_breached) as integer) as breached_steps_count,
        cast(count(*) filter (
            where status = 'missing' or (status = 'pending' and due_date <= as_of_date + {{ warning_days }})
        ) as integer) as open_steps_due_soon_count,
        max(as_of_date) as as_of_date
    from steps
    group by churn_event_id
),

final as (
    select
        events.churn_event_id,
        events.account_id,
        events.churn_status,
        events.owner_id,
        events.notice_at,
        events.churned_at,
        -- EXCLUDE names a column of pivoted.* itself (RF02 reads it as a reference to qualify; qualified,
        -- AM04 can no longer count the star's columns)
        pivoted.* exclude (churn_event_id)  -- noqa: RF02
    from events
    inner join pivoted on events.churn_event_id = pivoted.churn_event_id
)

select * from final
