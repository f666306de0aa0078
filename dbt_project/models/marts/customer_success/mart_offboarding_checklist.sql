-- One offboarding checklist per churn event: for every step its due date, when it was done and
-- whether the SLA was breached. SLAs come from config `warehouse.slas`:
--   acknowledge      N business days after the notice          (acknowledge_business_days)
--   save_assessment  N days after the notice                     (save_assessment_days)
--   data_handover    by the agreed date: the churn (effective) date
--   exit_interview   N days after the notice                     (exit_interview_days)
--   feedback_routed  exit feedback classified to an owning department by the exit-interview due date
--   followup         between day A and day B after the churn      (followup_window_days: [A, B])
-- Saved and still-open notices only owe the first two steps; the rest are 'not_applicable'.
-- Status: on_time | late | missing (due date passed, never done) | pending (not due yet) |
-- early (follow-up before its window opened) | not_applicable. Breached = late, missing or early.
{%- set ack_days = warehouse_setting('slas', 'acknowledge_business_days', 1) | int %}
{%- set save_days = warehouse_setting('slas', 'save_assessment_days', 3) | int %}
{%- set exit_days = warehouse_setting('slas', 'exit_interview_days', 14) | int %}
{%- set followup_window = warehouse_setting('slas', 'followup_window_days', [25, 40]) %}
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
        churned_at,
        cast(notice_at as date) as notice_date,
        cast(churned_at as date) as churn_date
    from {{ ref('fct_churn_events') }}
),

activities as (
    select churn_event_id, checklist_step, min(completed_at) as done_at
    from {{ ref('int_offboarding_activities') }}
    where completed_at is not null
    group by churn_event_id, checklist_step
),

routed_feedback as (
    select churn_event_id, min(noted_at) as done_at
    from {{ ref('fct_feedback_items') }}
    where is_exit_interview and department not in ('triage')
    group by churn_event_id
),

due_dates as (
    select
        events.*,
        {{ as_of_date() }} as as_of_date,
        events.churn_status = 'churned' as owes_exit_steps,
        case when notice_date is not null then {{ add_business_days('notice_date', ack_days) }} end
            as acknowledge_due_date,
        notice_date + {{ save_days }} as save_assessment_due_date,
        churn_date as data_handover_due_date,
        notice_date + {{ exit_days }} as exit_interview_due_date,
        notice_date + {{ exit_days }} as feedback_routed_due_date,
        churn_date + {{ followup_window[0] | int }} as followup_window_opens_on,
        churn_date + {{ followup_window[1] | int }} as followup_due_date
    from events
),

with_done as (
    select
        due_dates.*,
        {%- for step in steps if step != 'feedback_routed' %}
        (select done_at from activities
         where activities.churn_event_id = due_dates.churn_event_id
           and activities.checklist_step = '{{ step }}') as {{ step }}_done_at,
        {%- endfor %}
        routed_feedback.done_at as feedback_routed_done_at
    from due_dates
    left join routed_feedback on routed_feedback.churn_event_id = due_dates.churn_event_id
),

statuses as (
    select
        *,
        {%- for step in steps %}
        case
            {%- if step in ['data_handover', 'exit_interview', 'feedback_routed', 'followup'] %}
            when not owes_exit_steps then 'not_applicable'
            {%- endif %}
            when {{ step }}_due_date is null then 'not_applicable'
            {%- if step == 'followup' %}
            when followup_done_at is not null and cast(followup_done_at as date) < followup_window_opens_on
                then 'early'
            {%- endif %}
            when {{ step }}_done_at is not null and cast({{ step }}_done_at as date) <= {{ step }}_due_date
                then 'on_time'
            when {{ step }}_done_at is not null then 'late'
            when as_of_date > {{ step }}_due_date then 'missing'
            else 'pending'
        end as {{ step }}_status{{ ',' if not loop.last }}
        {%- endfor %}
    from with_done
),

final as (
    select
        churn_event_id,
        account_id,
        churn_status,
        owner_id,
        notice_at,
        churned_at,
        {%- for step in steps %}
        {{ step }}_due_date,
        {%- if step == 'followup' %}
        followup_window_opens_on,
        {%- endif %}
        {{ step }}_done_at,
        {{ step }}_status,
        {{ step }}_status in ('late', 'missing', 'early') as is_{{ step }}_breached,
        {%- endfor %}
        (
            {%- for step in steps %}
            cast({{ step }}_status in ('late', 'missing', 'early') as integer){{ ' +' if not loop.last }}
            {%- endfor %}
        ) as breached_steps_count,
        (
            {%- for step in steps %}
            cast({{ step }}_status = 'missing' or ({{ step }}_status = 'pending' and {{ step }}_due_date <= as_of_date + {{ warning_days }}) as integer){{ ' +' if not loop.last }}
            {%- endfor %}
        ) as open_steps_due_soon_count,
        as_of_date
    from statuses
)

select * from final
