-- One row per real-world customer, matched across Salesforce and HubSpot (int_accounts_matched).
{{ config(materialized='table') }}

with matched as (
    select * from {{ ref('int_accounts_matched') }}
),

sf_owners as (
    select
        accounts.account_id as salesforce_account_id,
        users.user_name as owner_name,
        users.email as owner_email
    from {{ ref('stg_salesforce__accounts') }} as accounts
    inner join {{ ref('stg_salesforce__users') }} as users on accounts.owner_id = users.user_id
),

hs_owners as (
    select
        companies.company_id as hubspot_company_id,
        owners.owner_name,
        owners.email as owner_email
    from {{ ref('stg_hubspot__companies') }} as companies
    inner join {{ ref('stg_hubspot__owners') }} as owners on companies.owner_id = owners.owner_id
),

accounts as (
    select
        account_id,
        coalesce(
            first(account_name order by created_at nulls last, source_account_id)
            filter (where source_system = 'salesforce' and account_name is not null),
            first(account_name order by created_at nulls last, source_account_id)
            filter (where account_name is not null)
        ) as account_name,
        min(domain) as domain,
        first(source_account_id order by created_at nulls last, source_account_id)
        filter (where source_system = 'salesforce') as salesforce_account_id,
        first(source_account_id order by created_at nulls last, source_account_id)
        filter (where source_system = 'hubspot') as hubspot_company_id,
        cast(count(*) filter (where source_system = 'salesforce') as integer) as salesforce_record_count,
        cast(count(*) filter (where source_system = 'hubspot') as integer) as hubspot_record_count,
        bool_or(source_system = 'salesforce') and bool_or(source_system = 'hubspot') as is_in_both_crms,
        first(
            match_method order by
                case match_method
                    when 'domain' then 1 when 'contact_email_domain' then 2
                    when 'name_to_domain' then 3 else 4
                end
        ) as match_method,
        min(created_at) as first_seen_at
    from matched
    group by account_id
),

final as (
    -- the account owner: Salesforce's when the customer is there, else HubSpot's
    select
        accounts.account_id,
        accounts.account_name,
        accounts.domain,
        accounts.salesforce_account_id,
        accounts.hubspot_company_id,
        coalesce(sf_owners.owner_name, hs_owners.owner_name) as owner_name,
        coalesce(sf_owners.owner_email, hs_owners.owner_email) as owner_email,
        accounts.salesforce_record_count,
        accounts.hubspot_record_count,
        accounts.is_in_both_crms,
        accounts.match_method,
        accounts.first_seen_at
    from accounts
    left join sf_owners on accounts.salesforce_account_id = sf_owners.salesforce_account_id
    left join hs_owners on accounts.hubspot_company_id = hs_owners.hubspot_company_id
)

select * from final
