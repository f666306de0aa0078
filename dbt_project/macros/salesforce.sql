{#- Salesforce helpers shared by the object staging models (HubSpot's are in hubspot.sql). -#}

{% macro salesforce_latest() %}
  {#- The newest version of each record, by its 18-character id and SystemModstamp. -#}
  {{ latest_version(sf_id18('"Id"'), to_utc_timestamp('"SystemModstamp"')) }}
{%- endmacro %}


{% macro salesforce_system_columns() %}
        coalesce({{ to_bool('"IsDeleted"') }}, false) as is_deleted,
        {{ to_utc_timestamp('"CreatedDate"') }} as created_at,
        {{ to_utc_timestamp('coalesce("SystemModstamp", "LastModifiedDate")') }} as updated_at,
        _loaded_at
{%- endmacro %}
