-- One row per live CRM account record (Salesforce Account, HubSpot company) with the three keys we
-- match on: the normalised website domain, the dominant business e-mail domain of its contacts, the name.
with sf_accounts as (
    select * from {{ ref('stg_salesforce__accounts') }}
    where not is_deleted
),

hs_companies as (
    select * from {{ ref('stg_hubspot__companies') }}
    where not is_deleted
),

hs_contact_companies as (
    select
        contact_id,
        company_id
    from (
        select
            from_id as contact_id,
            to_id as company_id
        from {{ ref('int_hubspot_links_bidirectional') }}
        where from_object_type = 'contacts' and to_object_type = 'companies'
        union by name
        select
            contact_id,
            associated_company_id as company_id
        from {{ ref('stg_hubspot__contacts') }}
        where associated_company_id is not null
    ) as contact_companies
),

contact_emails as (
    select
        'salesforce' as source_system,
        account_id as source_account_id,
        email
    from {{ ref('stg_salesforce__contacts') }}
    where not is_deleted and account_id is not null
    union all by name
    select
        'hubspot' as source_system,
        links.company_id as source_account_id,
        contacts.email
    from {{ ref('stg_hubspot__contacts') }} as contacts
    inner join hs_contact_companies as links on contacts.contact_id = links.contact_id
    where not contacts.is_deleted
),

contact_domains as (
    select
        source_system,
        source_account_id, {{ email_domain('email') }} as email_domain
    from contact_emails
),

dominant_contact_domain as (
    -- free-mail domains say nothing about the employer
    select
        source_system,
        source_account_id,
        email_domain as contact_domain
    from contact_domains
    where email_domain is not null and not {{ is_free_email_domain('email_domain') }}
    group by source_system, source_account_id, email_domain
    qualify row_number() over (
        partition by source_system, source_account_id order by count(*) desc, email_domain
    ) = 1
),

records as (
    select
        'salesforce' as source_system,
        account_id as source_account_id,
        account_name,
        {{ normalize_domain('website') }} as domain,
        {{ normalize_name('account_name') }} as normalized_name,
        created_at
    from sf_accounts
    union all by name
    select
        'hubspot' as source_system,
        company_id as source_account_id,
        company_name as account_name,
        coalesce({{ normalize_domain('domain') }}, {{ normalize_domain('website') }}) as domain,
        {{ normalize_name('company_name') }} as normalized_name,
        created_at
    from hs_companies
),

final as (
    select
        records.source_system,
        records.source_account_id,
        records.account_name,
        records.domain,
        dominant_contact_domain.contact_domain,
        records.normalized_name,
        records.created_at
    from records
    left join dominant_contact_domain
        on
            records.source_system = dominant_contact_domain.source_system
            and records.source_account_id = dominant_contact_domain.source_account_id
)

select * from final
