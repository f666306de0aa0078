-- Live CRM activities of both CRMs on the customer (matched account) they belong to: Salesforce
-- tasks (a Log a Call is a task of subtype Call) and events by their AccountId, HubSpot tasks by
-- their task-to-company association; HubSpot logged calls, meetings and e-mails likewise
-- (activity_type call/meeting/email, subtype status/outcome/direction). Checklist steps and account
-- signals both read tasks from here.
with

salesforce_tasks as (
    select
        'salesforce' as source_system,
        tasks.task_id,
        accounts.account_id,
        'task' as activity_type,
        coalesce(tasks.task_subtype, tasks.task_type) as activity_subtype,
        tasks.subject,
        tasks.description as body_text,
        cast(tasks.activity_date as timestamp) as due_at,
        tasks.completed_at,
        tasks.created_at
    from {{ ref('stg_salesforce__tasks') }} as tasks
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'salesforce' and tasks.account_id = accounts.source_account_id
    where not tasks.is_deleted
),

salesforce_events as (
    select
        'salesforce' as source_system,
        events.event_id as task_id,
        accounts.account_id,
        'event' as activity_type,
        events.event_type as activity_subtype,
        events.subject,
        events.description as body_text,
        events.started_at as due_at,
        coalesce(events.ended_at, events.started_at) as completed_at,
        events.created_at
    from {{ ref('stg_salesforce__events') }} as events
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'salesforce' and events.account_id = accounts.source_account_id
    where not events.is_deleted
),

hubspot_task_companies as (
    select
        from_id as task_id,
        min(to_id) as company_id
    from {{ ref('int_hubspot_links_bidirectional') }}
    where from_object_type = 'tasks' and to_object_type = 'companies'
    group by from_id
),

hubspot_tasks as (
    select
        'hubspot' as source_system,
        tasks.task_id,
        accounts.account_id,
        'task' as activity_type,
        tasks.task_type as activity_subtype,
        tasks.subject,
        tasks.body_text,
        tasks.due_at,
        tasks.completed_at,
        tasks.created_at
    from {{ ref('stg_hubspot__tasks') }} as tasks
    inner join hubspot_task_companies on tasks.task_id = hubspot_task_companies.task_id
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'hubspot' and hubspot_task_companies.company_id = accounts.source_account_id
    where not tasks.is_deleted
),

hubspot_engagement_companies as (
    select
        from_object_type,
        from_id,
        min(to_id) as company_id
    from {{ ref('int_hubspot_links_bidirectional') }}
    where from_object_type in ('calls', 'meetings', 'emails') and to_object_type = 'companies'
    group by from_object_type, from_id
),

hubspot_engagements as (
    -- logged calls, meetings and e-mails: done when logged (a meeting only when it took place)
    select
        'calls' as object_type,
        call_id as record_id,
        'call' as activity_type,
        coalesce(status, disposition) as activity_subtype,
        title as subject,
        body_text,
        called_at as due_at,
        case when coalesce(status, 'COMPLETED') = 'COMPLETED' then called_at end
            as completed_at,
        created_at,
        is_deleted
    from {{ ref('stg_hubspot__calls') }}
    union all by name
    select
        'meetings' as object_type,
        meeting_id as record_id,
        'meeting' as activity_type,
        outcome as activity_subtype,
        title as subject,
        body_text,
        met_at as due_at,
        case when coalesce(outcome, 'COMPLETED') = 'COMPLETED' then coalesce(ended_at, met_at) end
            as completed_at,
        created_at,
        is_deleted
    from {{ ref('stg_hubspot__meetings') }}
    union all by name
    select
        'emails' as object_type,
        email_id as record_id,
        'email' as activity_type,
        direction as activity_subtype,
        subject,
        body_text,
        sent_at as due_at,
        sent_at as completed_at,
        created_at,
        is_deleted
    from {{ ref('stg_hubspot__emails') }}
),

hubspot_activities as (
    select
        'hubspot' as source_system,
        engagements.record_id as task_id,
        accounts.account_id,
        engagements.activity_type,
        engagements.activity_subtype,
        engagements.subject,
        engagements.body_text,
        engagements.due_at,
        engagements.completed_at,
        engagements.created_at
    from hubspot_engagements as engagements
    inner join hubspot_engagement_companies as companies
        on engagements.object_type = companies.from_object_type and engagements.record_id = companies.from_id
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'hubspot' and companies.company_id = accounts.source_account_id
    where not engagements.is_deleted
),

final as (
    select * from salesforce_tasks
    union all by name
    select * from salesforce_events
    union all by name
    select * from hubspot_tasks
    union all by name
    select * from hubspot_activities
)

select * from final
