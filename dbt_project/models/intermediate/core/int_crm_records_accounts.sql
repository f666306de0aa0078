-- Which customer (account_id) each CRM record that can carry feedback belongs to:
-- Salesforce accounts, contacts, opportunities and cases; HubSpot companies, contacts, deals, tickets.
with accounts as (
    select
        source_system,
        source_account_id,
        account_id
    from {{ ref('int_accounts_matched') }}
),

links as (
    select * from {{ ref('int_hubspot_links_bidirectional') }}
),

sf_records as (
    select
        'Account' as source_object,
        account_id as record_id,
        account_id as source_account_id
    from {{ ref('stg_salesforce__accounts') }}
    union all by name
    select
        'Contact' as source_object,
        contact_id as record_id,
        account_id as source_account_id
    from {{ ref('stg_salesforce__contacts') }}
    union all by name
    select
        'Opportunity' as source_object,
        opportunity_id as record_id,
        account_id as source_account_id
    from {{ ref('stg_salesforce__opportunities') }}
    union all by name
    select
        'Case' as source_object,
        case_id as record_id,
        account_id as source_account_id
    from {{ ref('stg_salesforce__cases') }}
),

hs_contact_companies as (
    select
        from_id as record_id,
        to_id as company_id
    from links
    where from_object_type = 'contacts' and to_object_type = 'companies'
    union by name
    select
        contact_id as record_id,
        associated_company_id as company_id
    from {{ ref('stg_hubspot__contacts') }}
    where associated_company_id is not null
),

hs_records as (
    select
        'companies' as source_object,
        company_id as record_id,
        company_id as source_account_id,
        1 as preference
    from {{ ref('stg_hubspot__companies') }}
    union all by name
    select
        'contacts' as source_object,
        record_id,
        company_id as source_account_id,
        1 as preference
    from hs_contact_companies
    union all by name
    select
        from_object_type as source_object,
        from_id as record_id,
        to_id as source_account_id,
        case when association_type_id in (5, 26, 339) then 1 else 2 end as preference
    from links
    where from_object_type in ('deals', 'tickets') and to_object_type = 'companies'
    union all by name
    -- a ticket or deal without a company reaches one through its contact
    select
        links.from_object_type as source_object,
        links.from_id as record_id,
        hs_contact_companies.company_id as source_account_id,
        3 as preference
    from links
    inner join hs_contact_companies on links.to_id = hs_contact_companies.record_id
    where links.from_object_type in ('deals', 'tickets') and links.to_object_type = 'contacts'
),

hs_records_resolved as (
    select * from hs_records
    qualify row_number() over (partition by source_object, record_id order by preference, source_account_id) = 1
),

final as (
    select
        'salesforce' as source_system,
        sf_records.source_object,
        sf_records.record_id,
        accounts.account_id
    from sf_records
    inner join accounts
        on accounts.source_system = 'salesforce' and sf_records.source_account_id = accounts.source_account_id
    union all by name
    select
        'hubspot' as source_system,
        hs_records_resolved.source_object,
        hs_records_resolved.record_id,
        accounts.account_id
    from hs_records_resolved
    inner join accounts
        on accounts.source_system = 'hubspot' and hs_records_resolved.source_account_id = accounts.source_account_id
)

select * from final
