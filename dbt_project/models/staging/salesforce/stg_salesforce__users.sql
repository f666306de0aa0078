with source as (
    {{ raw_stream('salesforce', 'user', [
        'Id', 'Name', 'FirstName', 'LastName', 'Email', 'Username', 'IsActive', 'Title',
        'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as user_id,
        coalesce(
            {{ nullif_blank('"Name"') }},
            nullif(trim(concat_ws(' ', "FirstName", "LastName")), '')
        ) as user_name,
        lower({{ nullif_blank('"Email"') }}) as email,
        {{ nullif_blank('"Username"') }} as username,
        coalesce({{ to_bool('"IsActive"') }}, true) as is_active,
        {{ nullif_blank('"Title"') }} as title,
        {{ to_utc_timestamp('"CreatedDate"') }} as created_at,
        {{ to_utc_timestamp('coalesce("SystemModstamp", "LastModifiedDate")') }} as updated_at,
        _loaded_at
    from latest
    where "Id" is not null
)

select * from final
