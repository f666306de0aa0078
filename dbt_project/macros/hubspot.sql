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


{#- Stages of one pipelines stream (deal_pipelines, ticket_pipelines): both land the same columns
    from GET /crm/v3/pipelines/{type}, so their staging models share this body. -#}
{% macro stg_hubspot_pipeline_stages(stream) %}
with source as (
    {{ raw_stream('hubspot', stream, [
        'pipeline_id', 'pipeline_label', 'stage_id', 'stage_label', 'is_closed', 'probability', 'display_order',
        'ticket_state'
    ]) }}
),

latest as (
    -- pipelines are landed whole on every sync: the newest row per stage wins
    select * from source
    {{ latest_version("trim(pipeline_id) || '|' || trim(stage_id)", '_loaded_at') }}
),

final as (
    select
        trim(pipeline_id) as pipeline_id,
        {{ nullif_blank('pipeline_label') }} as pipeline_label,
        trim(stage_id) as stage_id,
        {{ nullif_blank('stage_label') }} as stage_label,
        -- deal stages say metadata.isClosed; ticket stages carry only ticketState OPEN/CLOSED
        coalesce({{ to_bool('is_closed') }}, upper(trim(ticket_state)) = 'CLOSED', false) as is_closed,
        upper({{ nullif_blank('ticket_state') }}) as ticket_state,
        {{ to_number('probability') }} as probability,
        try_cast({{ to_number('display_order') }} as integer) as display_order,
        _loaded_at
    from latest
    where pipeline_id is not null and stage_id is not null
)

select * from final
{% endmacro %}


{% macro hs_enum_in(expression, values) %}
  {#- A HubSpot enumeration matches when any one of its values does: multiple-checkbox and
      multi-select values arrive joined with ";" ("BILLING_ISSUE;CANCELLATION" is a cancellation).
      Case-insensitive, like every configured value list. -#}
  coalesce(list_has_any(
    list_transform(string_split(lower(coalesce({{ expression }}, '')), ';'), lambda value: trim(value)),
    [{%- for value in values %}'{{ value | lower | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}]
  ), false)
{% endmacro %}
