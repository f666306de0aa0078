-- The stated reason of each churn event mapped through the editable seed `stated_reason_map`.
-- No reason given -> `unknown`. A value the seed does not know (HubSpot's loss reason is free text)
-- is read by the feedback classifier; one it cannot read either keeps a NULL category and is
-- flagged (and listed in int_stated_reasons_unmapped) instead of being bucketed silently.
with events as (
    select
        churn_event_id,
        stated_reason_raw
    from {{ ref('int_churn_events_merged') }}
),

reason_map as (
    select
        lower(trim(raw_value)) as raw_value,
        match_type,
        category
    from {{ ref('stated_reason_map') }}
),

classified_reasons as (
    select
        stated_reason_raw,
        category
    from {{ ref('int_stated_reasons_classified') }}
    where category != 'unknown'
),

exact_matches as (
    select
        events.churn_event_id,
        reason_map.category
    from events
    inner join reason_map
        on reason_map.match_type = 'exact' and reason_map.raw_value = lower(trim(events.stated_reason_raw))
),

regex_matches as (
    -- the longest (most specific) matching pattern wins
    select
        events.churn_event_id,
        reason_map.category
    from events
    inner join reason_map
        on
            reason_map.match_type = 'regex'
            and regexp_matches(lower(trim(events.stated_reason_raw)), reason_map.raw_value)
    qualify row_number() over (
        partition by events.churn_event_id order by length(reason_map.raw_value) desc, reason_map.raw_value
    ) = 1
),

final as (
    select
        events.churn_event_id,
        events.stated_reason_raw,
        case
            when events.stated_reason_raw is null then 'unknown'
            else coalesce(exact_matches.category, regex_matches.category, classified_reasons.category)
        end as stated_reason_category,
        case
            when exact_matches.category is not null or regex_matches.category is not null then 'seed'
            when classified_reasons.category is not null then 'classifier'
        end as stated_reason_mapped_by,
        events.stated_reason_raw is not null
        and exact_matches.category is null
        and regex_matches.category is null
        and classified_reasons.category is null as is_stated_reason_unmapped
    from events
    left join exact_matches on events.churn_event_id = exact_matches.churn_event_id
    left join regex_matches on events.churn_event_id = regex_matches.churn_event_id
    left join classified_reasons on events.stated_reason_raw = classified_reasons.stated_reason_raw
)

select * from final
