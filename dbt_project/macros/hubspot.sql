{#- HubSpot envelope helpers shared by the object staging models. -#}

{% macro hubspot_envelope() %}
  {{- return(['id', 'archived', 'archived_at', 'created_at', 'updated_at']) -}}
{% endmacro %}


{% macro hubspot_cursor(modified_property) %}
  {#- Archiving does not change hs_lastmodifieddate but does set archived_at, so both order versions. -#}
  greatest({{ to_utc_timestamp(modified_property) }}, {{ to_utc_timestamp('updated_at') }},
           {{ to_utc_timestamp('archived_at') }})
{% endmacro %}


{% macro hubspot_envelope_columns(created_property='createdate', modified_property='hs_lastmodifieddate') %}
        coalesce({{ to_bool('archived') }}, false) as is_deleted,
        {{ to_utc_timestamp('archived_at') }} as archived_at,
        coalesce({{ to_utc_timestamp(created_property) }}, {{ to_utc_timestamp('created_at') }}) as created_at,
        {{ hubspot_cursor(modified_property) }} as updated_at,
        _loaded_at
{% endmacro %}
