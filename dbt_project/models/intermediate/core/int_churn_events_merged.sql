-- One row per churn event (a real departure), from its grouped CRM records.
with records as (
    select * from {{ ref('int_churn_records_grouped') }}
),

final as (
    select
        churn_event_id,
        first(source_system order by record_rank) as source_system,
        first(source_object order by record_rank) as source_object,
        first(source_record_id order by record_rank) as source_record_id,
        first(account_id order by record_rank) as account_id,
        case
            when first(record_kind order by record_rank) = 'notice' then 'cancellation_request'
            when first(source_system order by record_rank) = 'salesforce' then 'closed_lost_renewal'
            else 'closed_lost_deal'
        end as event_type,
        min(notice_at) as notice_at,
        first(source_system order by notice_at) filter (where record_kind = 'notice') as notice_source_system,
        first(source_record_id order by notice_at) filter (where record_kind = 'notice') as notice_record_id,
        coalesce(
            min(churned_at) filter (where record_kind = 'closed_lost'),
            max(churned_at) filter (where record_kind = 'notice')
        ) as churned_at,
        first(amount order by record_rank) filter (where amount is not null) as amount_lost,
        first(stated_reason_raw order by record_rank) filter (where stated_reason_raw is not null)
            as stated_reason_raw,
        first(competitor_raw order by record_rank) filter (where competitor_raw is not null) as competitor_raw,
        case
            when bool_or(record_kind = 'closed_lost') then 'churned'
            when bool_or(notice_status = 'open') then 'open'
            when bool_or(notice_status = 'saved') then 'saved'
            else 'churned'
        end as churn_status,
        first(owner_id order by record_rank) as owner_id,
        count(*) as source_record_count,
        count(distinct source_system) as source_system_count
    from records
    group by churn_event_id
)

select * from final
