with source as (
    {{ raw_stream('salesforce', 'case', [
        'Id', 'CaseNumber', 'AccountId', 'ContactId', 'Subject', 'Description', 'Status', 'IsClosed',
        'ClosedDate', 'Priority', 'Origin', 'Type', 'Reason', 'RecordTypeId', 'OwnerId',
        'Cancellation_Reason__c', 'Cancellation_Effective_Date__c', 'Outcome__c', 'Cancellation_Outcome__c',
        'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as case_id,
        {{ nullif_blank('"CaseNumber"') }} as case_number,
        {{ sf_id18('"AccountId"') }} as account_id,
        {{ sf_id18('"ContactId"') }} as contact_id,
        {{ nullif_blank('"Subject"') }} as subject,
        {{ nullif_blank('"Description"') }} as description,
        {{ nullif_blank('"Status"') }} as status,
        coalesce({{ to_bool('"IsClosed"') }}, false) as is_closed,
        {{ to_utc_timestamp('"ClosedDate"') }} as closed_at,
        {{ nullif_blank('"Priority"') }} as priority,
        {{ nullif_blank('"Origin"') }} as origin,
        {{ nullif_blank('"Type"') }} as case_type,
        {{ nullif_blank('"Reason"') }} as case_reason,
        {{ sf_id18('"RecordTypeId"') }} as record_type_id,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        {{ nullif_blank('"Cancellation_Reason__c"') }} as cancellation_reason_raw,
        {{ to_date('"Cancellation_Effective_Date__c"') }} as cancellation_effective_date,
        {{ nullif_blank('coalesce("Outcome__c", "Cancellation_Outcome__c")') }} as cancellation_outcome,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
