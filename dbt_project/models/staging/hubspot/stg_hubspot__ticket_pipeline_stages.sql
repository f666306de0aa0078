with source as (
    {{ raw_stream('hubspot', 'ticket_pipelines', [
        'pipeline_id', 'pipeline_label', 'stage_id', 'stage_label', 'is_closed', 'probability', 'display_order'
    ]) }}
),

latest as (
    -- pipelines are landed whole on every sync: the newest row per stage wins
    select * from source
    {{ latest_version("trim(pipeline_id) || '|' || trim(stage_id)", '_loaded_at') }}
),

final as (
    select
        trim(pipeline_id) as pipeline_id,
        {{ nullif_blank('pipeline_label') }} as pipeline_label,
        trim(stage_id) as stage_id,
        {{ nullif_blank('stage_label') }} as stage_label,
        coalesce({{ to_bool('is_closed') }}, false) as is_closed,
        {{ to_number('probability') }} as probability,
        try_cast({{ to_number('display_order') }} as integer) as display_order,
        _loaded_at
    from latest
    where pipeline_id is not null and stage_id is not null
)

select * from final
