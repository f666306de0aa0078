-- CRM tasks that complete an offboarding step, each on the churn event it belongs to.
-- A task's step comes from its subject (config warehouse.checklist_activity_patterns, substrings,
-- case-insensitive); it belongs to its account's latest churn event noticed on or before the
-- task's due date (a step is never done for a notice that has not arrived yet).
{%- set default_patterns = {
    'acknowledge': ['acknowledg', 'ack call'],
    'save_assessment': ['save call', 'save assessment', 'retention offer'],
    'data_handover': ['data export', 'data hand-over', 'data handover'],
    'exit_interview': ['exit interview'],
    'followup': ['follow-up', 'follow up', 'check-in'],
} %}
{%- set patterns = var('checklist_activity_patterns', default_patterns) or default_patterns %}
{%- set steps = ['acknowledge', 'save_assessment', 'data_handover', 'exit_interview', 'followup'] %}

with

tasks as (
    select
        source_system,
        task_id as activity_id,
        account_id,
        subject,
        cast(due_at as date) as due_date,
        completed_at
    from {{ ref('int_account_tasks_unioned') }}
),

stepped as (
    select
        *,
        case
            {%- for step in steps %}
            when {{ contains_any('subject', patterns.get(step, [])) }} then '{{ step }}'
            {%- endfor %}
        end as checklist_step
    from tasks
),

events as (
    select churn_event_id, account_id, cast(coalesce(notice_at, churned_at) as date) as notice_date
    from {{ ref('fct_churn_events') }}
),

final as (
    select
        stepped.source_system,
        stepped.activity_id,
        stepped.account_id,
        events.churn_event_id,
        stepped.checklist_step,
        stepped.subject,
        stepped.due_date,
        stepped.completed_at
    from stepped
    inner join events
        on events.account_id = stepped.account_id
        and events.notice_date <= coalesce(stepped.due_date, cast(stepped.completed_at as date))
    where stepped.checklist_step is not null
    qualify row_number() over (
        partition by stepped.source_system, stepped.activity_id
        order by events.notice_date desc, events.churn_event_id
    ) = 1
)

select * from final
