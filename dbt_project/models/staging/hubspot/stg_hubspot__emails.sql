-- Logged e-mails: HTML body (hs_email_html) and its plain-text part (hs_email_text); the text
-- is read from the HTML when both exist, so quoted replies and signatures are treated alike.
with source as (
    {{ raw_stream('hubspot', 'emails', hubspot_envelope() + [
        'hs_email_subject', 'hs_email_text', 'hs_email_html', 'hs_email_direction', 'hs_email_status',
        'hs_timestamp', 'hubspot_owner_id', 'hs_createdate', 'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as email_id,
        {{ nullif_blank('hs_email_subject') }} as subject,
        {{ nullif_blank('hs_email_html') }} as body_html,
        coalesce({{ strip_html('hs_email_html') }}, {{ strip_html('hs_email_text') }}) as body_text,
        upper({{ nullif_blank('hs_email_direction') }}) as direction,
        upper({{ nullif_blank('hs_email_status') }}) as status,
        coalesce({{ to_utc_timestamp('hs_timestamp') }}, {{ to_utc_timestamp('hs_createdate') }}) as sent_at,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ hubspot_envelope_columns('hs_createdate') }}
    from latest
    where id is not null
)

select * from final
