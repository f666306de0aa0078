-- Churned customers who came back: the first won opportunity/deal of the same account after the
-- churn date. One row per churned event that was won back.
with

churn_events as (
    select
        churn_event_id,
        account_id,
        churn_status,
        churned_at
    from {{ ref('int_churn_events_merged') }}
),

salesforce_opportunities as (
    select * from {{ ref('stg_salesforce__opportunities') }}
),

hubspot_deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

accounts_matched as (
    select * from {{ ref('int_accounts_matched') }}
),

hubspot_links as (
    select * from {{ ref('int_hubspot_links_bidirectional') }}
),

churned_events as (
    select
        churn_event_id,
        account_id,
        churned_at
    from churn_events
    where churn_status = 'churned' and churned_at is not null and account_id is not null
),

wins as (
    select
        accounts.account_id,
        cast(opportunities.close_date as timestamp) as won_at,
        opportunities.amount
    from salesforce_opportunities as opportunities
    inner join accounts_matched as accounts
        on accounts.source_system = 'salesforce' and opportunities.account_id = accounts.source_account_id
    where opportunities.is_won and not opportunities.is_deleted
    union all by name
    select
        accounts.account_id,
        deals.closed_at as won_at,
        deals.amount
    from hubspot_deals as deals
    inner join hubspot_links as links
        on links.from_object_type = 'deals' and deals.deal_id = links.from_id and links.to_object_type = 'companies'
    inner join accounts_matched as accounts
        on accounts.source_system = 'hubspot' and links.to_id = accounts.source_account_id
    where deals.hs_is_closed and not coalesce(deals.hs_is_closed_lost, false) and not deals.is_deleted
),

final as (
    select
        churned_events.churn_event_id,
        churned_events.account_id,
        min(wins.won_at) as won_back_at,
        arg_min(wins.amount, wins.won_at) as won_back_amount
    from churned_events
    inner join wins
        on
            churned_events.account_id = wins.account_id
            and cast(wins.won_at as date) > cast(churned_events.churned_at as date)
    group by churned_events.churn_event_id, churned_events.account_id
)

select * from final
