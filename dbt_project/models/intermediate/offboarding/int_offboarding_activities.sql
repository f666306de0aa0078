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

salesforce_tasks as (
    select
        'salesforce' as source_system,
        tasks.task_id as activity_id,
        accounts.account_id,
        tasks.subject,
        tasks.activity_date as due_date,
        tasks.completed_at
    from {{ ref('stg_salesforce__tasks') }} as tasks
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'salesforce' and accounts.source_account_id = tasks.account_id
    where not tasks.is_deleted
),

hubspot_task_companies as (
    select from_id as task_id, min(to_id) as company_id
    from {{ ref('int_hubspot_links_bidirectional') }}
    where from_object_type = 'tasks' and to_object_type = 'companies'
    group by from_id
),

hubspot_tasks as (
    select
        'hubspot' as source_system,
        tasks.task_id as activity_id,
        accounts.account_id,
        tasks.subject,
        cast(tasks.due_at as date) as due_date,
        tasks.completed_at
    from {{ ref('stg_hubspot__tasks') }} as tasks
    inner join hubspot_task_companies on hubspot_task_companies.task_id = tasks.task_id
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'hubspot' and accounts.source_account_id = hubspot_task_companies.company_id
    where not tasks.is_deleted
),

tasks as (
    select * from salesforce_tasks
    union all
    select * from hubspot_tasks
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
