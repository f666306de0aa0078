-- One row per real-world customer, matched across Salesforce and HubSpot (int_accounts_matched).
{{ config(materialized='table') }}

with matched as (
    select * from {{ ref('int_accounts_matched') }}
),

final as (
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
        first(match_method order by
            case match_method when 'domain' then 1 when 'contact_email_domain' then 2
                              when 'name_to_domain' then 3 else 4 end) as match_method,
        min(created_at) as first_seen_at
    from matched
    group by account_id
)

select * from final
