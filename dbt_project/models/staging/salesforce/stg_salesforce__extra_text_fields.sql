{#- The org's own long-text fields that hold exit feedback, named in the config
    (sources.salesforce.extra_text_fields, e.g. {Opportunity: [Closed_Lost_Notes__c]}): one row
    per record and field with text, from the newest landed version of the record. -#}
{%- set configured = var('sf_extra_text_fields', {}) or {} -%}
{%- set ctes = [] -%}

with
{%- for sobject, fields in configured.items() %}
{%- set stream = sobject | lower %}

{{ stream }}_source as (
    {{ raw_stream('salesforce', stream, ['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'] + fields) }}
),

{{ stream }}_latest as (
    select * from {{ stream }}_source
    {{ salesforce_latest() }}
),
{%- for field_name in fields %}

{%- do ctes.append(stream ~ '_' ~ field_name | lower) %}
{{ stream }}_{{ field_name | lower }} as (
    select
        '{{ sobject }}' as sobject,
        {{ sf_id18('"Id"') }} as record_id,
        '{{ field_name }}' as field_name,
        {{ nullif_blank('"' ~ field_name ~ '"') }} as body_text,
        {{ salesforce_system_columns() }}
    from {{ stream }}_latest
    where "Id" is not null
),
{%- endfor %}
{%- endfor %}

unioned as (
    {%- for cte in ctes %}
    {{ "union all by name " if not loop.first }}select * from {{ cte }}
    {%- endfor %}
    {%- if not ctes %}
        select
            cast(null as varchar) as sobject,
            cast(null as varchar) as record_id,
            cast(null as varchar) as field_name,
            cast(null as varchar) as body_text,
            cast(null as boolean) as is_deleted,
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
