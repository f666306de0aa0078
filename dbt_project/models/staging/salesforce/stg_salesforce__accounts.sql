with source as (
    {{ raw_stream('salesforce', 'account', [
        'Id', 'Name', 'Type', 'Industry', 'Website', 'OwnerId', 'ParentId', 'AnnualRevenue',
        'NumberOfEmployees', 'BillingCountry', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as account_id,
        {{ nullif_blank('"Name"') }} as account_name,
        {{ nullif_blank('"Type"') }} as account_type,
        {{ nullif_blank('"Industry"') }} as industry,
        {{ nullif_blank('"Website"') }} as website,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        {{ sf_id18('"ParentId"') }} as parent_account_id,
        {{ to_number('"AnnualRevenue"') }} as annual_revenue,
        try_cast({{ to_number('"NumberOfEmployees"') }} as integer) as number_of_employees,
        {{ nullif_blank('"BillingCountry"') }} as billing_country,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
