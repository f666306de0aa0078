-- Lightning notes. The connector lands the decoded body as `Content` (HTML) and the records the
-- note is shared to (ContentDocumentLink.LinkedEntityId) as a JSON list `LinkedEntityIds`.
with source as (
    {{ raw_stream('salesforce', 'content_note', [
        'Id', 'Title', 'Content', 'TextPreview', 'OwnerId', 'LinkedEntityIds',
        'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'
    ]) }}
),

latest as (
    select * from source
    {{ salesforce_latest() }}
),

final as (
    select
        {{ sf_id18('"Id"') }} as content_note_id,
        {{ nullif_blank('"Title"') }} as title,
        {{ nullif_blank('"Content"') }} as body_html,
        {{ strip_html('"Content"') }} as body_text,
        {{ sf_id18('"OwnerId"') }} as owner_id,
        coalesce(json_extract_string("LinkedEntityIds", '$[*]'), []) as linked_entity_ids,
        {{ salesforce_system_columns() }}
    from latest
    where "Id" is not null
)

select * from final
