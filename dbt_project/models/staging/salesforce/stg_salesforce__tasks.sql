with source as (
    {{ raw_stream('salesforce', 'task', [
        'Id', 'Subject', 'Status', 'Priority', 'ActivityDate', 'WhoId', 'WhatId', 'AccountId', 'OwnerId',
        'Description', 'IsClosed', 'TaskSubtype', 'Type', 'CallDisposition', 'CompletedDateTime',
        'IsArchived', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as task_id,
        {{ nullif_blank('"Subject"') }} as subject,
        {{ nullif_blank('"Status"') }} as status,
        {{ nullif_blank('"Priority"') }} as priority,
        {{ to_date('"ActivityDate"') }} as activity_date,
        {{ sf_id18('"WhoId"') }} as who_id,
        {{ sf_id18('"WhatId"') }} as what_id,
        {{ sf_id18('"AccountId"') }} as account_id,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        {{ nullif_blank('"Description"') }} as description,
        coalesce({{ to_bool('"IsClosed"') }}, false) as is_closed,
        {{ nullif_blank('"TaskSubtype"') }} as task_subtype,
        {{ nullif_blank('"Type"') }} as task_type,
        {{ nullif_blank('"CallDisposition"') }} as call_disposition,
        {{ to_utc_timestamp('"CompletedDateTime"') }} as completed_at,
        coalesce({{ to_bool('"IsArchived"') }}, false) as is_archived,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
