with source as (
    {{ raw_stream('hubspot', 'owners', [
        'id', 'email', 'first_name', 'last_name', 'user_id', 'archived', 'created_at', 'updated_at'
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', to_utc_timestamp('updated_at')) }}
),

final as (
    select
        trim(id) as owner_id,
        lower({{ nullif_blank('email') }}) as email,
        {{ nullif_blank('first_name') }} as first_name,
        {{ nullif_blank('last_name') }} as last_name,
        nullif(trim(concat_ws(' ', first_name, last_name)), '') as owner_name,
        {{ nullif_blank('user_id') }} as user_id,
        coalesce({{ to_bool('archived') }}, false) as is_deleted,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _loaded_at
    from latest
    where id is not null
)

select * from final
