-- The offboarding checklist in long form: one row per churn event and step (grain:
-- churn_event_id, step_key). What a step means is decided here, once: its due date, when it was
-- done, its status, whether the SLA was breached and what an alert should say about it now.
-- Publishers filter these rows; they never recompute a due date, a breach or an alert.
-- SLAs come from config `warehouse.slas`:
--   acknowledge      N business days after the notice          (acknowledge_business_days)
--   save_assessment  N days after the notice                     (save_assessment_days)
--   data_handover    by the agreed date: the churn (effective) date
--   exit_interview   N days after the notice                     (exit_interview_days)
--   feedback_routed  exit feedback classified to an owning department by the exit-interview due date
--   followup         between day A and day B after the churn      (followup_window_days: [A, B])
-- Saved and still-open notices only owe the first two steps; the rest are 'not_applicable'.
-- Status: on_time | late | missing (due date passed, never done) | pending (not due yet) |
-- early (follow-up before its window opened) | not_applicable. Breached = late, missing or early.
-- Alert state (what the daily alert says today): 'overdue' (missing), 'due_soon' (pending and due
-- within handover_warning_days; the follow-up from the day its window opens), else NULL. Saved
-- events and done steps never carry an alert state; steps missed more than alert_lookback_days
-- ago are history, not news, and carry none either; nor do orphaned events (no account).
{%- set ack_days = warehouse_setting('slas', 'acknowledge_business_days', 1) | int %}
{%- set save_days = warehouse_setting('slas', 'save_assessment_days', 3) | int %}
{%- set exit_days = warehouse_setting('slas', 'exit_interview_days', 14) | int %}
{%- set followup_window = warehouse_setting('slas', 'followup_window_days', [25, 40]) %}
{%- set warning_days = warehouse_setting('slas', 'handover_warning_days', 3) | int %}
{%- set alert_lookback_days = warehouse_setting('slas', 'alert_lookback_days', 30) | int %}
{#- step key, label, order, due date, window opening, owed by open/saved notices too -#}
{%- set steps = [
    ('acknowledge', 'Acknowledge the cancellation notice', 1,
        'case when notice_date is not null then ' ~ add_business_days('notice_date', ack_days) ~ ' end', 'null', true),
    ('save_assessment', 'Save assessment', 2, 'notice_date + ' ~ save_days, 'null', true),
    ('data_handover', 'Data hand-over', 3, 'churn_date', 'null', false),
    ('exit_interview', 'Exit interview', 4, 'notice_date + ' ~ exit_days, 'null', false),
    ('feedback_routed', 'Exit feedback routed to its department', 5, 'notice_date + ' ~ exit_days, 'null', false),
    ('followup', '30-day follow-up', 6, 'churn_date + ' ~ (followup_window[1] | int),
        'churn_date + ' ~ (followup_window[0] | int), false),
] %}

with

events as (
    select
        churn_event_id,
        account_id,
        churn_status,
        owner_id,
        cast(notice_at as date) as notice_date,
        cast(churned_at as date) as churn_date
    from {{ ref('fct_churn_events') }}
),

activities as (
    select
        churn_event_id,
        checklist_step,
        min(completed_at) as done_at
    from {{ ref('int_offboarding_activities') }}
    where completed_at is not null
    group by churn_event_id, checklist_step
),

feedback as (
    select
        churn_event_id,
        noted_at,
        is_exit_interview,
        department
    from {{ ref('fct_feedback_items') }}
),

routed_feedback as (
    select
        churn_event_id,
        'feedback_routed' as checklist_step,
        min(noted_at) as done_at
    from feedback
    where is_exit_interview and department not in ('triage')
    group by churn_event_id
),

step_done as (
    select * from activities
    union all by name
    select * from routed_feedback
),

step_rows as (
    {%- for key, label, order, due, opens, owed_by_notices in steps %}
        select
            churn_event_id,
            account_id,
            churn_status,
            owner_id,
            '{{ key }}' as step_key,
            '{{ label }}' as step_label,
            {{ order }} as step_order,
            {{ 'true' if owed_by_notices else "churn_status = 'churned'" }} as is_owed,
            {{ due }} as due_date,
            cast({{ opens }} as date) as window_opens_on
        from events
        {{ 'union all by name' if not loop.last }}
    {%- endfor %}
),

with_done as (
    select
        step_rows.*,
        step_done.done_at,
        {{ as_of_date() }} as as_of_date
    from step_rows
    left join step_done
        on
            step_rows.churn_event_id = step_done.churn_event_id
            and step_rows.step_key = step_done.checklist_step
),

statuses as (
    select
        *,
        case
            when not is_owed or due_date is null then 'not_applicable'
            when
                done_at is not null and window_opens_on is not null
                and cast(done_at as date) < window_opens_on then 'early'
            when done_at is not null and cast(done_at as date) <= due_date then 'on_time'
            when done_at is not null then 'late'
            when as_of_date > due_date then 'missing'
            else 'pending'
        end as status
    from with_done
),

final as (
    select
        churn_event_id,
        step_key,
        step_label,
        step_order,
        account_id,
        churn_status,
        owner_id,
        due_date,
        window_opens_on,
        done_at,
        status,
        status in ('late', 'missing', 'early') as is_breached,
        case
            when churn_status = 'saved' then null
            -- an orphan (account archived, deleted or not synced): its activities cannot be
            -- matched and nobody owns it in the CRM, so an alert would be noise
            when account_id is null then null
            when status = 'missing' and due_date >= as_of_date - {{ alert_lookback_days }} then 'overdue'
            when status = 'pending' and window_opens_on is not null and window_opens_on <= as_of_date
                then 'due_soon'
            when status = 'pending' and window_opens_on is null and due_date <= as_of_date + {{ warning_days }}
                then 'due_soon'
        end as alert_state,
        as_of_date
    from statuses
)

select * from final
