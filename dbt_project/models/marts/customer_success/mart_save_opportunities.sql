-- Open cancellation notices that may still be saved: one row per open notice, with the reason,
-- the amount at risk, where the notice stands in its CRM, and the suggested play for the reason
-- (seed save_plays, editable by customer success).
with

open_notices as (
    select *
    from {{ ref('fct_churn_events') }}
    where churn_status = 'open'
),

accounts as (
    select
        account_id,
        account_name,
        domain
    from {{ ref('dim_accounts') }}
),

case_stages as (
    select
        'salesforce' as source_system,
        case_id as record_id,
        status as notice_stage
    from {{ ref('stg_salesforce__cases') }}
),

ticket_stages as (
    select
        'hubspot' as source_system,
        tickets.ticket_id as record_id,
        coalesce(stages.stage_label, tickets.pipeline_stage_id) as notice_stage
    from {{ ref('stg_hubspot__tickets') }} as tickets
    left join {{ ref('stg_hubspot__ticket_pipeline_stages') }} as stages
        on tickets.pipeline_id = stages.pipeline_id and tickets.pipeline_stage_id = stages.stage_id
),

notice_stages as (
    select * from case_stages
    union all by name
    select * from ticket_stages
),

account_deals as (
    -- the renewal at stake: an open opportunity/deal of the account, else its last won one
    select
        accounts.account_id,
        opportunities.amount,
        opportunities.close_date as expected_close_date,
        not opportunities.is_closed as is_open
    from {{ ref('stg_salesforce__opportunities') }} as opportunities
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'salesforce' and opportunities.account_id = accounts.source_account_id
    where not opportunities.is_deleted and (not opportunities.is_closed or opportunities.is_won)
    union all by name
    select
        accounts.account_id,
        deals.amount,
        cast(deals.closed_at as date) as expected_close_date,
        not coalesce(deals.hs_is_closed, false) as is_open
    from {{ ref('stg_hubspot__deals') }} as deals
    inner join {{ ref('int_hubspot_links_bidirectional') }} as links
        on links.from_object_type = 'deals' and deals.deal_id = links.from_id and links.to_object_type = 'companies'
    inner join {{ ref('int_accounts_matched') }} as accounts
        on accounts.source_system = 'hubspot' and links.to_id = accounts.source_account_id
    where not deals.is_deleted and not coalesce(deals.hs_is_closed_lost, false)
),

amounts_at_risk as (
    select
        account_id,
        amount
    from account_deals
    where amount is not null
    qualify row_number() over (
        partition by account_id order by is_open desc, expected_close_date desc nulls last, amount desc
    ) = 1
),

plays as (
    select * from {{ ref('save_plays') }}
),

checklist as (
    select
        churn_event_id,
        acknowledge_status,
        save_assessment_status,
        save_assessment_due_date
    from {{ ref('mart_offboarding_checklist') }}
),

final as (
    select
        open_notices.churn_event_id,
        open_notices.account_id,
        accounts.account_name,
        accounts.domain,
        open_notices.notice_source_system as source_system,
        open_notices.notice_record_id as source_record_id,
        open_notices.notice_at,
        open_notices.churned_at as planned_churn_at,
        datediff('day', {{ as_of_date() }}, cast(open_notices.churned_at as date))
            as days_until_churn,
        notice_stages.notice_stage,
        open_notices.primary_reason_category as reason_category,
        open_notices.primary_reason_source as reason_source,
        open_notices.stated_reason_raw,
        cast(coalesce(open_notices.amount_lost, amounts_at_risk.amount, 0) as decimal(18, 2)) as amount_at_risk,
        plays.play_name as suggested_play,
        plays.play_description as suggested_play_description,
        plays.owner_department as play_owner_department,
        checklist.acknowledge_status,
        checklist.save_assessment_status,
        checklist.save_assessment_due_date,
        open_notices.owner_id
    from open_notices
    left join accounts on open_notices.account_id = accounts.account_id
    left join notice_stages
        on
            open_notices.notice_source_system = notice_stages.source_system
            and open_notices.notice_record_id = notice_stages.record_id
    left join amounts_at_risk on open_notices.account_id = amounts_at_risk.account_id
    left join plays on open_notices.primary_reason_category = plays.category
    left join checklist on open_notices.churn_event_id = checklist.churn_event_id
)

select * from final
