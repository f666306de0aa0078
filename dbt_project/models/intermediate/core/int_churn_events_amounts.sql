-- The amount each churn event loses: the lost renewal's amount, else (a cancellation that ended
-- without a lost deal in the CRM) the customer's last won contract (new business or renewal, not
-- an upgrade) before the notice.
-- Open and saved requests lose nothing yet: NULL.
with events as (
    select
        churn_event_id,
        account_id,
        churn_status,
        amount_lost,
        coalesce(notice_at, churned_at) as decided_at
    from {{ ref('int_churn_events_merged') }}
),

record_accounts as (
    select * from {{ ref('int_crm_records_accounts') }}
),

won_stages as (
    select
        pipeline_id,
        stage_id
    from {{ ref('stg_hubspot__deal_pipeline_stages') }}
    where is_closed and probability = 1
),

won_contracts as (
    select
        record_accounts.account_id,
        opportunities.amount,
        cast(opportunities.close_date as timestamp) as won_at
    from {{ ref('stg_salesforce__opportunities') }} as opportunities
    inner join record_accounts
        on
            record_accounts.source_system = 'salesforce'
            and record_accounts.source_object = 'Opportunity'
            and opportunities.opportunity_id = record_accounts.record_id
    where
        opportunities.is_won and not opportunities.is_deleted and opportunities.amount is not null
        and lower(opportunities.opportunity_type) in {{ sql_list(var('sf_renewal_opportunity_types')
                                                               + var('sf_new_business_opportunity_types')) }}
    union all by name
    select
        record_accounts.account_id,
        deals.amount,
        deals.closed_at as won_at
    from {{ ref('stg_hubspot__deals') }} as deals
    inner join record_accounts
        on
            record_accounts.source_system = 'hubspot'
            and record_accounts.source_object = 'deals'
            and deals.deal_id = record_accounts.record_id
    left join won_stages
        on deals.pipeline_id = won_stages.pipeline_id and deals.deal_stage_id = won_stages.stage_id
    where
        (won_stages.stage_id is not null or deals.deal_stage_id = 'closedwon')
        and not deals.is_deleted and deals.amount is not null
        and {{ hs_enum_in('deals.deal_type', var('hs_churn_deal_types') + var('hs_new_business_deal_types')) }}
),

last_won_before_event as (
    select
        events.churn_event_id,
        won_contracts.amount
    from events
    inner join won_contracts
        on events.account_id = won_contracts.account_id and events.decided_at >= won_contracts.won_at
    where events.amount_lost is null and events.churn_status = 'churned'
    qualify row_number() over (
        partition by events.churn_event_id order by won_contracts.won_at desc, won_contracts.amount desc
    ) = 1
),

final as (
    select
        events.churn_event_id,
        coalesce(events.amount_lost, last_won_before_event.amount) as amount_lost,
        case
            when events.amount_lost is not null then 'lost_deal'
            when last_won_before_event.amount is not null then 'last_won_contract'
        end as amount_lost_source
    from events
    left join last_won_before_event on events.churn_event_id = last_won_before_event.churn_event_id
)

select * from final
