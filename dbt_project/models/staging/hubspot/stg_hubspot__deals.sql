{%- set loss_reason_property = var('hs_loss_reason_property') -%}

with source as (
    {{ raw_stream('hubspot', 'deals', hubspot_envelope() + [
        'dealname', 'amount', 'amount_in_home_currency', 'closedate', 'createdate', 'pipeline', 'dealstage',
        'dealtype', 'hubspot_owner_id', 'closed_won_reason', 'hs_is_closed', 'hs_is_closed_won',
        'hs_is_closed_lost', 'hs_deal_stage_probability', 'description', 'hs_lastmodifieddate',
        loss_reason_property
    ]) }}
),

latest as (
    select * from source
    {{ latest_version('trim(id)', hubspot_cursor('hs_lastmodifieddate')) }}
),

final as (
    select
        trim(id) as deal_id,
        {{ nullif_blank('dealname') }} as deal_name,
        {{ to_number('amount') }} as amount,
        {{ to_number('amount_in_home_currency') }} as amount_in_home_currency,
        {{ to_utc_timestamp('closedate') }} as closed_at,
        {{ nullif_blank('pipeline') }} as pipeline_id,
        {{ nullif_blank('dealstage') }} as deal_stage_id,
        lower({{ nullif_blank('dealtype') }}) as deal_type,
        {{ nullif_blank('hubspot_owner_id') }} as owner_id,
        {{ nullif_blank('"' ~ loss_reason_property ~ '"') }} as loss_reason_raw,
        {{ nullif_blank('closed_won_reason') }} as closed_won_reason,
        {{ to_bool('hs_is_closed') }} as hs_is_closed,
        {{ to_bool('hs_is_closed_lost') }} as hs_is_closed_lost,
        {{ to_number('hs_deal_stage_probability') }} as stage_probability,
        {{ nullif_blank('description') }} as description,
        {{ hubspot_envelope_columns() }}
    from latest
    where id is not null
)

select * from final
