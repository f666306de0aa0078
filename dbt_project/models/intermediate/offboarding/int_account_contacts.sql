-- Every live CRM contact on its matched account, from both CRMs, with a rank that picks the one
-- to write to first (champion-like titles, then the oldest contact).
with

salesforce_contacts_staged as (
    select * from {{ ref('stg_salesforce__contacts') }}
),

hubspot_contacts_staged as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

accounts_matched as (
    select * from {{ ref('int_accounts_matched') }}
),

salesforce_contacts as (
    select
        'salesforce' as source_system,
        contacts.contact_id,
        accounts.account_id,
        contacts.full_name,
        lower(contacts.email) as email,
        contacts.title,
        contacts.has_opted_out_of_email,
        contacts.created_at
    from salesforce_contacts_staged as contacts
    inner join accounts_matched as accounts
        on accounts.source_system = 'salesforce' and contacts.account_id = accounts.source_account_id
    where not contacts.is_deleted
),

hubspot_contacts as (
    select
        'hubspot' as source_system,
        contacts.contact_id,
        accounts.account_id,
        contacts.full_name,
        lower(contacts.email) as email,
        contacts.job_title as title,
        contacts.has_opted_out_of_email,
        contacts.created_at
    from hubspot_contacts_staged as contacts
    inner join accounts_matched as accounts
        on accounts.source_system = 'hubspot' and contacts.associated_company_id = accounts.source_account_id
    where not contacts.is_deleted
),

unioned as (
    select * from salesforce_contacts
    union all by name
    select * from hubspot_contacts
),

final as (
    select
        *,
        lower(trim(full_name)) as normalized_name,
        row_number() over (
            partition by account_id
            order by
                coalesce(has_opted_out_of_email, false),
                email is null,
                regexp_matches(lower(coalesce(title, '')), '(vp|head|director|chief|coo|ceo|cto|owner|lead)') desc,
                created_at,
                contact_id asc
        ) as contact_rank
    from unioned
)

select * from final
