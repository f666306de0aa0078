with source as (
    {{ raw_stream('hubspot', 'notes', hubspot_envelope() + [
        'hs_note_body', 'hs_timestamp', 'hubspot_owner_id', 'hs_attachment_ids', 'hs_createdate',
        'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as note_id,
        {{ nullif_blank('hs_note_body') }} as body_html,
        {{ strip_html('hs_note_body') }} as body_text,
        coalesce({{ to_utc_timestamp('hs_timestamp') }}, {{ to_utc_timestamp('hs_createdate') }}) as noted_at,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ nullif_blank('hs_attachment_ids') }} as attachment_ids,
        {{ hubspot_envelope_columns('hs_createdate') }}
    from latest
    where id is not null
)

select * from final
