-- Stated reason values no row of `stated_reason_map` covers: add them to the seed.
with unmapped as (
    select
        reasons.stated_reason_raw,
        events.source_system,
        events.churn_event_id
    from {{ ref('int_churn_events_reasons_stated') }} as reasons
    inner join {{ ref('int_churn_events_merged') }} as events on reasons.churn_event_id = events.churn_event_id
    where reasons.is_stated_reason_unmapped
),

final as (
    select
        stated_reason_raw,
        string_agg(distinct source_system, ', ' order by source_system) as source_systems,
        count(*) as churn_event_count,
        min(churn_event_id) as example_churn_event_id
    from unmapped
    group by stated_reason_raw
)

select * from final
