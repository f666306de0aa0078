{%- set loss_reason_field = var('sf_loss_reason_field') -%}
{%- set competitor_field = var('sf_competitor_field') -%}

with source as (
    {{ raw_stream('salesforce', 'opportunity', [
        'Id', 'Name', 'AccountId', 'StageName', 'Amount', 'CloseDate', 'IsClosed', 'IsWon', 'Probability',
        'ForecastCategory', 'Type', 'RecordTypeId', 'LeadSource', 'OwnerId', 'Description', 'NextStep',
        'CurrencyIsoCode', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp',
        loss_reason_field, competitor_field
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as opportunity_id,
        {{ nullif_blank('"Name"') }} as opportunity_name,
        {{ sf_id18('"AccountId"') }} as account_id,
        {{ nullif_blank('"StageName"') }} as stage_name,
        {{ to_number('"Amount"') }} as amount,
        {{ nullif_blank('"CurrencyIsoCode"') }} as currency_iso_code,
        {{ to_date('"CloseDate"') }} as close_date,
        coalesce({{ to_bool('"IsClosed"') }}, false) as is_closed,
        coalesce({{ to_bool('"IsWon"') }}, false) as is_won,
        {{ to_number('"Probability"') }} as probability,
        {{ nullif_blank('"ForecastCategory"') }} as forecast_category,
        {{ nullif_blank('"Type"') }} as opportunity_type,
        {{ sf_id18('"RecordTypeId"') }} as record_type_id,
        {{ nullif_blank('"LeadSource"') }} as lead_source,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        {{ nullif_blank('"Description"') }} as description,
        {{ nullif_blank('"NextStep"') }} as next_step,
        {{ nullif_blank('"' ~ loss_reason_field ~ '"') }} as loss_reason_raw,
        {{ nullif_blank('"' ~ competitor_field ~ '"') }} as competitor_raw,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
