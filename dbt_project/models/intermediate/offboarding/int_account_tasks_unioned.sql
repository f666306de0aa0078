-- Live CRM tasks of both CRMs on the customer (matched account) they belong to: Salesforce by the
-- task's AccountId, HubSpot by its task-to-company association. Checklist steps and account
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
    inner join hubspot_task_companies on hubspot_task_companies.task_id = tasks.task_id
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'hubspot' and accounts.source_account_id = hubspot_task_companies.company_id
    where not tasks.is_deleted
),

final as (
    select * from salesforce_tasks
    union all
    select * from hubspot_tasks
)

select * from final
