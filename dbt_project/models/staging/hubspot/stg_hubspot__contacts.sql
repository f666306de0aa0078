with source as (
    {{ raw_stream('hubspot', 'contacts', hubspot_envelope() + [
        'email', 'firstname', 'lastname', 'jobtitle', 'lifecyclestage', 'hs_email_optout',
        'associatedcompanyid', 'hubspot_owner_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('coalesce(lastmodifieddate, hs_lastmodifieddate)')) }}
),

final as (
    select
        trim(id) as contact_id,
        lower({{ nullif_blank('email') }}) as email,
        {{ email_domain('email') }} as email_domain,
        {{ nullif_blank('firstname') }} as first_name,
        {{ nullif_blank('lastname') }} as last_name,
        nullif(trim(concat_ws(' ', firstname, lastname)), '') as full_name,
        {{ nullif_blank('jobtitle') }} as job_title,
        {{ nullif_blank('lifecyclestage') }} as lifecycle_stage,
        coalesce({{ to_bool('hs_email_optout') }}, false) as has_opted_out_of_email,
        {{ nullif_blank('associatedcompanyid') }} as associated_company_id,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ hubspot_envelope_columns('createdate', 'coalesce(lastmodifieddate, hs_lastmodifieddate)') }}
    from latest
    where id is not null
)

select * from final
