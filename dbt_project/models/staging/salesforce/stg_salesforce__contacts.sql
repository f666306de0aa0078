with source as (
    {{ raw_stream('salesforce', 'contact', [
        'Id', 'AccountId', 'FirstName', 'LastName', 'Name', 'Email', 'Title', 'Phone', 'MailingCountry',
        'OwnerId', 'HasOptedOutOfEmail', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as contact_id,
        {{ sf_id18('"AccountId"') }} as account_id,
        {{ nullif_blank('"FirstName"') }} as first_name,
        {{ nullif_blank('"LastName"') }} as last_name,
        coalesce(
            {{ nullif_blank('"Name"') }},
            nullif(trim(concat_ws(' ', "FirstName", "LastName")), '')
        ) as full_name,
        lower({{ nullif_blank('"Email"') }}) as email,
        {{ email_domain('"Email"') }} as email_domain,
        {{ nullif_blank('"Title"') }} as title,
        {{ nullif_blank('"Phone"') }} as phone,
        {{ nullif_blank('"MailingCountry"') }} as mailing_country,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        coalesce({{ to_bool('"HasOptedOutOfEmail"') }}, false) as has_opted_out_of_email,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
