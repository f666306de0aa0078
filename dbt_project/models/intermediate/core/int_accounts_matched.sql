-- The crosswalk from each live CRM account record to one real-world customer (`account_id`).
-- Key, in order: the record's own normalised domain, else its contacts' business e-mail domain,
-- else its normalised name; a name-keyed record joins the domain-keyed customer carrying the same
-- name when exactly one does. `account_id` is a hash of the key, so it is stable across builds.
with records as (
    select * from {{ ref('int_account_records_unioned') }}
),

keyed as (
    select
        *,
        coalesce(domain, contact_domain) as domain_key,
        case
            when domain is not null then 'domain'
            when contact_domain is not null then 'contact_email_domain'
            else 'name'
        end as first_match_method
    from records
),

domain_names as (
    -- names carried by domain-keyed customers; a name is usable only if it points to one domain
    select
        normalized_name,
        min(domain_key) as domain_key
    from keyed
    where domain_key is not null and normalized_name is not null
    group by normalized_name
    having count(distinct domain_key) = 1
),

resolved as (
    select
        keyed.*,
        coalesce(keyed.domain_key, domain_names.domain_key) as resolved_domain,
        case
            when keyed.domain_key is not null then keyed.first_match_method
            when domain_names.domain_key is not null then 'name_to_domain'
            else 'name'
        end as match_method
    from keyed
    left join domain_names
        on keyed.domain_key is null and keyed.normalized_name = domain_names.normalized_name
),

final as (
    select
        'acc_' || substr(md5(coalesce(
            'domain:' || resolved_domain,
            'name:' || normalized_name,
            'record:' || source_system || ':' || source_account_id
        )), 1, 16)
            as account_id,
        source_system,
        source_account_id,
        account_name,
        resolved_domain as domain,
        normalized_name,
        match_method,
        created_at
    from resolved
)

select * from final
