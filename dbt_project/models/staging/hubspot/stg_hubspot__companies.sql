with source as (
    {{ raw_stream('hubspot', 'companies', hubspot_envelope() + [
        'name', 'domain', 'website', 'industry', 'lifecyclestage', 'hubspot_owner_id', 'annualrevenue',
        'numberofemployees', 'country', 'createdate', 'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as company_id,
        {{ nullif_blank('name') }} as company_name,
        {{ nullif_blank('domain') }} as domain,
        {{ nullif_blank('website') }} as website,
        {{ nullif_blank('industry') }} as industry,
        {{ nullif_blank('lifecyclestage') }} as lifecycle_stage,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ to_number('annualrevenue') }} as annual_revenue,
        try_cast({{ to_number('numberofemployees') }} as integer) as number_of_employees,
        {{ nullif_blank('country') }} as country,
        {{ hubspot_envelope_columns() }}
    from latest
    where id is not null
)

select * from final
