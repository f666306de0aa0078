with source as (
    {{ raw_stream('salesforce', 'event', [
        'Id', 'Subject', 'Description', 'ActivityDateTime', 'ActivityDate', 'StartDateTime',
        'EndDateTime', 'WhoId', 'WhatId', 'AccountId', 'OwnerId', 'EventSubtype', 'Type',
        'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as event_id,
        {{ nullif_blank('"Subject"') }} as subject,
        {{ nullif_blank('"Description"') }} as description,
        coalesce(
            {{ to_utc_timestamp('"ActivityDateTime"') }}, {{ to_utc_timestamp('"StartDateTime"') }}
        ) as started_at,
        {{ to_utc_timestamp('"EndDateTime"') }} as ended_at,
        {{ sf_id18('"WhoId"') }} as who_id,
        {{ sf_id18('"WhatId"') }} as what_id,
        {{ sf_id18('"AccountId"') }} as account_id,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        {{ nullif_blank('"EventSubtype"') }} as event_subtype,
        {{ nullif_blank('"Type"') }} as event_type,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
