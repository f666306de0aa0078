{#- The portal's own long-text properties that hold exit feedback, named in the config
    (sources.hubspot.extra_text_properties, e.g. {deals: [churn_notes]}): one row per record and
    property with text, from the newest landed version of the record. -#}
{%- set configured = var('hs_extra_text_properties', {}) or {} -%}
{%- set ctes = [] -%}

with
{%- for object_type, properties in configured.items() %}

{{ object_type }}_source as (
    {{ raw_stream('hubspot', object_type, hubspot_envelope() + ['hs_lastmodifieddate', 'hs_createdate', 'createdate'] + properties) }}
),

{{ object_type }}_latest as (
    select * from {{ object_type }}_source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),
{%- for property in properties %}

{%- do ctes.append(object_type ~ '_' ~ property) %}
{{ object_type }}_{{ property }} as (
    select
        '{{ object_type }}' as object_type,
        trim(id) as record_id,
        '{{ property }}' as property_name,
        {{ strip_html('"' ~ property ~ '"') }} as body_text,
        {{ hubspot_envelope_columns("coalesce(hs_createdate, createdate)") }}
    from {{ object_type }}_latest
    where id is not null
),
{%- endfor %}
{%- endfor %}

unioned as (
    {%- for cte in ctes %}
    {{ "union all by name " if not loop.first }}select * from {{ cte }}
    {%- endfor %}
    {%- if not ctes %}
        select
            cast(null as varchar) as object_type,
            cast(null as varchar) as record_id,
            cast(null as varchar) as property_name,
            cast(null as varchar) as body_text,
            cast(null as boolean) as is_deleted,
            cast(null as timestamp) as archived_at,
            cast(null as timestamp) as created_at,
            cast(null as timestamp) as updated_at,
            cast(null as timestamptz) as _loaded_at
        where false
    {%- endif %}
),

final as (
    select * from unioned
    where body_text is not null
)

select * from final
