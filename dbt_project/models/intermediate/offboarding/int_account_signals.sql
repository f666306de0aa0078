-- Dated account signals for the look-back: support cases/tickets (not cancellations), activities
-- (tasks), NPS responses (HubSpot feedback submissions via the contact) and won amounts.
with

salesforce_cases as (
    select * from {{ ref('stg_salesforce__cases') }}
),

hubspot_tickets as (
    select * from {{ ref('stg_hubspot__tickets') }}
),

hubspot_links as (
    select * from {{ ref('int_hubspot_links_bidirectional') }}
),

accounts_matched as (
    select * from {{ ref('int_accounts_matched') }}
),

account_tasks as (
    select * from {{ ref('int_account_tasks_unioned') }}
),

feedback_submissions as (
    select * from {{ ref('stg_hubspot__feedback_submissions') }}
),

account_contacts as (
    select * from {{ ref('int_account_contacts') }}
),

salesforce_opportunities as (
    select * from {{ ref('stg_salesforce__opportunities') }}
),

hubspot_deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

cases as (
    select
        accounts.account_id,
        'case' as signal_type,
        cases.created_at as signal_at,
        cast(null as double) as value
    from salesforce_cases as cases
    inner join accounts_matched as accounts
        on accounts.source_system = 'salesforce' and cases.account_id = accounts.source_account_id
    where
        not cases.is_deleted
        and coalesce(cases.case_type, '') not in (
            {{ "'" ~ (var('sf_cancellation_case_types', ['Cancellation']) | join("', '")) ~ "'" }}
        )
),

ticket_companies as (
    select
        from_id as ticket_id,
        min(to_id) as company_id
    from hubspot_links
    where from_object_type = 'tickets' and to_object_type = 'companies'
    group by from_id
),

tickets as (
    select
        accounts.account_id,
        'case' as signal_type,
        tickets.created_at as signal_at,
        cast(null as double) as value
    from hubspot_tickets as tickets
    inner join ticket_companies on tickets.ticket_id = ticket_companies.ticket_id
    inner join accounts_matched as accounts
        on accounts.source_system = 'hubspot' and ticket_companies.company_id = accounts.source_account_id
    where
        not tickets.is_deleted
        and not {{ hs_enum_in('tickets.ticket_category', var('hs_cancellation_ticket_categories', ['CANCELLATION'])) }}
),

activities as (
    select
        account_id,
        'activity' as signal_type,
        coalesce(completed_at, due_at, created_at) as signal_at,
        cast(null as double) as value
    from account_tasks
),

nps as (
    select
        contacts.account_id,
        'nps' as signal_type,
        submissions.submitted_at as signal_at,
        submissions.score as value
    from feedback_submissions as submissions
    inner join account_contacts as contacts
        on contacts.source_system = 'hubspot' and submissions.contact_id = contacts.contact_id
    where
        not submissions.is_deleted and submissions.score is not null
        and upper(coalesce(submissions.survey_type, 'NPS')) = 'NPS'
),

won_amounts as (
    select
        accounts.account_id,
        'won_amount' as signal_type,
        cast(opportunities.close_date as timestamp) as signal_at,
        opportunities.amount as value
    from salesforce_opportunities as opportunities
    inner join accounts_matched as accounts
        on accounts.source_system = 'salesforce' and opportunities.account_id = accounts.source_account_id
    where opportunities.is_won and not opportunities.is_deleted and opportunities.amount is not null
    union all by name
    select
        accounts.account_id,
        'won_amount' as signal_type,
        deals.closed_at as signal_at,
        deals.amount as value
    from hubspot_deals as deals
    inner join hubspot_links as links
        on links.from_object_type = 'deals' and deals.deal_id = links.from_id and links.to_object_type = 'companies'
    inner join accounts_matched as accounts
        on accounts.source_system = 'hubspot' and links.to_id = accounts.source_account_id
    where
        deals.hs_is_closed and not coalesce(deals.hs_is_closed_lost, false) and not deals.is_deleted
        and deals.amount is not null
),

final as (
    select * from cases
    union all by name
    select * from tickets
    union all by name
    select * from activities
    union all by name
    select * from nps
    union all by name
    select * from won_amounts
)

select * from final
where signal_at is not null
