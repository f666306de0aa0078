-- Each churn record with the churn event it belongs to (one event = one real departure).
-- 1. A notice pairs with the first closed-lost record of the same customer that closes within
--    `notice_merge_window_days` after it (or up to `notice_merge_grace_days` before it).
-- 2. Each record gets an anchor date: its close date, its partner's close date, or its notice date.
-- 3. Per customer, records whose anchors lie within `duplicate_event_window_days` of the previous
--    one form one departure (the same renewal lost in both CRMs, a case and a ticket, ...).
with records as (
    select
        *,
        coalesce(account_id, 'unmatched:' || source_system || ':' || source_record_id) as customer_key
    from {{ ref('int_churn_records_unioned') }}
),

notices as (
    select * from records
    where record_kind = 'notice'
),

closed_lost as (
    select * from records
    where record_kind = 'closed_lost'
),

notice_partners as (
    select
        notices.source_system,
        notices.source_record_id,
        closed_lost.churned_at as partner_churned_at
    from notices
    inner join closed_lost
        on
            notices.customer_key = closed_lost.customer_key
            and cast(closed_lost.churned_at as date)
            between cast(notices.notice_at as date) - {{ var('notice_merge_grace_days') }}
            and cast(notices.notice_at as date) + {{ var('notice_merge_window_days') }}
    qualify row_number() over (
        partition by notices.source_system, notices.source_record_id
        order by closed_lost.churned_at asc, closed_lost.source_system desc, closed_lost.source_record_id asc
    ) = 1
),

anchored as (
    select
        records.*,
        case
            when records.record_kind = 'closed_lost' then records.churned_at
            else coalesce(notice_partners.partner_churned_at, records.notice_at)
        end as anchor_at
    from records
    left join notice_partners
        on
            records.source_system = notice_partners.source_system
            and records.source_record_id = notice_partners.source_record_id
),

gaps as (
    select
        *,
        case
            when lag(anchor_at) over customer_timeline is null then 1
            when
                datediff('day', lag(anchor_at) over customer_timeline, anchor_at)
                > {{ var('duplicate_event_window_days') }} then 1
            else 0
        end as starts_departure
    from anchored
    window customer_timeline as (partition by customer_key order by anchor_at, source_system, source_record_id)
),

departures as (
    select
        *,
        sum(starts_departure) over (
            partition by customer_key order by anchor_at, source_system, source_record_id
            rows between unbounded preceding and current row
        ) as departure_number
    from gaps
),

ranked as (
    -- the record that names the event: a closed-lost one first, Salesforce before HubSpot, earliest
    select
        *,
        row_number() over (
            partition by customer_key, departure_number
            order by
                (record_kind = 'closed_lost') desc, (source_system = 'salesforce') desc,
                anchor_at, source_record_id asc
        ) as record_rank
    from departures
),

final as (
    select
        'che_' || substr(md5(
            first(source_system || ':' || source_record_id) over (
                partition by customer_key, departure_number order by record_rank
            )
        ), 1, 16) as churn_event_id,
        record_rank,
        record_kind,
        source_system,
        source_object,
        source_record_id,
        source_account_id,
        account_id,
        event_at,
        notice_at,
        churned_at,
        anchor_at,
        amount,
        stated_reason_raw,
        competitor_raw,
        notice_status,
        owner_id
    from ranked
)

select * from final
