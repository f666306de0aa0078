with source as (
    {{ raw_stream('hubspot', 'tasks', hubspot_envelope() + [
        'hs_task_subject', 'hs_task_body', 'hs_task_status', 'hs_task_priority', 'hs_task_type',
        'hs_timestamp', 'hs_task_completion_date', 'hubspot_owner_id', 'hs_createdate', 'hs_lastmodifieddate'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as task_id,
        {{ nullif_blank('hs_task_subject') }} as subject,
        {{ nullif_blank('hs_task_body') }} as body_html,
        {{ strip_html('hs_task_body') }} as body_text,
        upper({{ nullif_blank('hs_task_status') }}) as status,
        upper({{ nullif_blank('hs_task_priority') }}) as priority,
        upper({{ nullif_blank('hs_task_type') }}) as task_type,
        {{ to_utc_timestamp('hs_timestamp') }} as due_at,
        {{ to_utc_timestamp('hs_task_completion_date') }} as completed_at,
        coalesce(upper(hs_task_status) = 'COMPLETED', false) as is_completed,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ hubspot_envelope_columns('hs_createdate') }}
    from latest
    where id is not null
)

select * from final
