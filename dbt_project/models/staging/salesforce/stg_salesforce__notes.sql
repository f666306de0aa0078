with source as (
    {{ raw_stream('salesforce', 'note', [
        'Id', 'ParentId', 'Title', 'Body', 'IsPrivate', 'OwnerId',
        'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as note_id,
        {{ sf_id18('"ParentId"') }} as parent_id,
        {{ nullif_blank('"Title"') }} as title,
        {{ nullif_blank('"Body"') }} as body,
        {{ strip_html('"Body"') }} as body_text,
        coalesce({{ to_bool('"IsPrivate"') }}, false) as is_private,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
