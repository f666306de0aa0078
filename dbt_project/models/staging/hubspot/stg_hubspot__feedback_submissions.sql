with source as (
    {{ raw_stream('hubspot', 'feedback_submissions', hubspot_envelope() + [
        'hs_survey_type', 'hs_survey_name', 'hs_survey_id', 'hs_survey_channel', 'hs_value',
        'hs_response_group', 'hs_content', 'hs_contact_id', 'hs_contact_email_rollup',
        'hs_submission_timestamp', 'hs_submission_name', 'hs_createdate', 'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as submission_id,
        upper({{ nullif_blank('hs_survey_type') }}) as survey_type,
        {{ nullif_blank('hs_survey_name') }} as survey_name,
        {{ nullif_blank('hs_survey_id') }} as survey_id,
        {{ nullif_blank('hs_survey_channel') }} as survey_channel,
        {{ to_number('hs_value') }} as score,
        lower({{ nullif_blank('hs_response_group') }}) as response_group,
        {{ strip_html('hs_content') }} as content_text,
        {{ nullif_blank('hs_contact_id') }} as contact_id,
        lower({{ nullif_blank('hs_contact_email_rollup') }}) as contact_email,
        coalesce({{ to_utc_timestamp('hs_submission_timestamp') }}, {{ to_utc_timestamp('hs_createdate') }})
            as submitted_at,
        {{ nullif_blank('hs_submission_name') }} as submission_name,
        {{ hubspot_envelope_columns('hs_createdate') }}
    from latest
    where id is not null
)

select * from final
