-- Meetings with their notes (hs_meeting_body, editor HTML) and outcome (COMPLETED, NO_SHOW, ...).
with source as (
    {{ raw_stream('hubspot', 'meetings', hubspot_envelope() + [
        'hs_meeting_title', 'hs_meeting_body', 'hs_internal_meeting_notes', 'hs_meeting_outcome',
        'hs_meeting_start_time', 'hs_meeting_end_time', 'hs_timestamp', 'hubspot_owner_id', 'hs_createdate',
        'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as meeting_id,
        {{ nullif_blank('hs_meeting_title') }} as title,
        {{ nullif_blank('hs_meeting_body') }} as body_html,
        {{ strip_html("coalesce(nullif(trim(hs_meeting_body), ''), hs_internal_meeting_notes)") }} as body_text,
        upper({{ nullif_blank('hs_meeting_outcome') }}) as outcome,
        {{ to_utc_timestamp('hs_meeting_start_time') }} as started_at,
        {{ to_utc_timestamp('hs_meeting_end_time') }} as ended_at,
        coalesce(
            {{ to_utc_timestamp('hs_meeting_start_time') }}, {{ to_utc_timestamp('hs_timestamp') }},
            {{ to_utc_timestamp('hs_createdate') }}        )
            as met_at,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ hubspot_envelope_columns('hs_createdate') }}
    from latest
    where id is not null
)

select * from final
