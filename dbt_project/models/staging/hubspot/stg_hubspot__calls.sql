-- Logged calls (Log a call, calling tool): the notes typed during or after the call are in
-- hs_call_body (editor HTML); exit interviews are often logged this way.
with source as (
    {{ raw_stream('hubspot', 'calls', hubspot_envelope() + [
        'hs_call_title', 'hs_call_body', 'hs_call_disposition', 'hs_call_direction', 'hs_call_status',
        'hs_call_duration', 'hs_timestamp', 'hubspot_owner_id', 'hs_createdate', 'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as call_id,
        {{ nullif_blank('hs_call_title') }} as title,
        {{ nullif_blank('hs_call_body') }} as body_html,
        {{ strip_html('hs_call_body') }} as body_text,
        {{ nullif_blank('hs_call_disposition') }} as disposition,
        upper({{ nullif_blank('hs_call_direction') }}) as direction,
        upper({{ nullif_blank('hs_call_status') }}) as status,
        {{ to_number('hs_call_duration') }} / 1000 as duration_s,
        coalesce({{ to_utc_timestamp('hs_timestamp') }}, {{ to_utc_timestamp('hs_createdate') }}) as called_at,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ hubspot_envelope_columns('hs_createdate') }}
    from latest
    where id is not null
)

select * from final
