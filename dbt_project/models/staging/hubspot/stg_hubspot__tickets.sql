with source as (
    {{ raw_stream('hubspot', 'tickets', hubspot_envelope() + [
        'subject', 'content', 'hs_pipeline', 'hs_pipeline_stage', 'hs_ticket_category', 'hs_ticket_priority',
        'createdate', 'closed_date', 'source_type', 'hubspot_owner_id', 'hs_lastmodifieddate',
        'cancellation_reason', 'cancellation_effective_date', 'cancellation_outcome'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as ticket_id,
        {{ nullif_blank('subject') }} as subject,
        {{ nullif_blank('content') }} as content,
        {{ strip_html('content') }} as content_text,
        {{ nullif_blank('hs_pipeline') }} as pipeline_id,
        {{ nullif_blank('hs_pipeline_stage') }} as pipeline_stage_id,
        {{ nullif_blank('hs_ticket_category') }} as ticket_category,
        upper({{ nullif_blank('hs_ticket_priority') }}) as priority,
        {{ to_utc_timestamp('closed_date') }} as closed_at,
        {{ nullif_blank('source_type') }} as source_type,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        -- custom cancellation properties (unprefixed snake case, as orgs name them)
        {{ nullif_blank('cancellation_reason') }} as cancellation_reason_raw,
        {{ to_date('cancellation_effective_date') }} as cancellation_effective_date,
        {{ nullif_blank('cancellation_outcome') }} as cancellation_outcome,
        {{ hubspot_envelope_columns() }}
    from latest
    where id is not null
)

select * from final
