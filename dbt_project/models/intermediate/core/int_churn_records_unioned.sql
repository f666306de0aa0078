-- Every CRM record that says a customer is leaving, one row each, on one shape:
--   closed_lost: lost Salesforce renewal opportunities and lost HubSpot churn-type deals;
--   notice:      Salesforce cancellation cases and HubSpot cancellation tickets.
-- Deleted/archived records are left out; the account is resolved through the crosswalk.
with accounts as (
    select
        source_system,
        source_account_id,
        account_id
    from {{ ref('int_accounts_matched') }}
),

links as (
    select * from {{ ref('int_hubspot_links_bidirectional') }}
),

deal_stages as (
    select * from {{ ref('stg_hubspot__deal_pipeline_stages') }}
),

ticket_stages as (
    select * from {{ ref('stg_hubspot__ticket_pipeline_stages') }}
),

sf_lost_renewals as (
    select
        'closed_lost' as record_kind,
        'salesforce' as source_system,
        'Opportunity' as source_object,
        opportunity_id as source_record_id,
        account_id as source_account_id,
        cast(close_date as timestamp) as event_at,
        cast(null as timestamp) as notice_at,
        cast(close_date as timestamp) as churned_at,
        amount,
        loss_reason_raw as stated_reason_raw,
        competitor_raw,
        'closed' as notice_status,
        owner_id
    from {{ ref('stg_salesforce__opportunities') }}
    where
        not is_deleted
        and is_closed and not is_won
        and lower(opportunity_type) in {{ sql_list(var('sf_renewal_opportunity_types')) }}
),

sf_cancellation_cases as (
    select
        'notice' as record_kind,
        'salesforce' as source_system,
        'Case' as source_object,
        case_id as source_record_id,
        account_id as source_account_id,
        created_at as event_at,
        created_at as notice_at,
        cast(cancellation_effective_date as timestamp) as churned_at,
        cast(null as double) as amount,
        coalesce(cancellation_reason_raw, case_reason) as stated_reason_raw,
        cast(null as varchar) as competitor_raw,
        case
            when lower(coalesce(cancellation_outcome, '')) like '%saved%' then 'saved'
            when is_closed then 'closed'
            else 'open'
        end as notice_status,
        owner_id
    from {{ ref('stg_salesforce__cases') }}
    where
        not is_deleted
        and lower(case_type) in {{ sql_list(var('sf_cancellation_case_types')) }}
),

hs_deal_companies as (
    select
        from_id as deal_id,
        to_id as company_id
    from links
    where from_object_type = 'deals' and to_object_type = 'companies'
    -- the primary company (type 5) wins over unlabelled ones
    qualify row_number() over (partition by from_id order by (association_type_id = 5) desc, to_id) = 1
),

hs_lost_deals as (
    select
        'closed_lost' as record_kind,
        'hubspot' as source_system,
        'deals' as source_object,
        deals.deal_id as source_record_id,
        hs_deal_companies.company_id as source_account_id,
        deals.closed_at as event_at,
        cast(null as timestamp) as notice_at,
        deals.closed_at as churned_at,
        deals.amount,
        deals.loss_reason_raw as stated_reason_raw,
        cast(null as varchar) as competitor_raw,
        'closed' as notice_status,
        deals.owner_id
    from {{ ref('stg_hubspot__deals') }} as deals
    left join deal_stages
        on deals.pipeline_id = deal_stages.pipeline_id and deals.deal_stage_id = deal_stages.stage_id
    left join hs_deal_companies on deals.deal_id = hs_deal_companies.deal_id
    where
        not deals.is_deleted
        and (
            (deal_stages.is_closed and deal_stages.probability = 0)
            or deals.deal_stage_id = 'closedlost'
            or coalesce(deals.hs_is_closed_lost, false)
        )
        and (
            {{ hs_enum_in('deals.deal_type', var('hs_churn_deal_types')) }}
            {%- if var('hs_deal_without_type_is_churn') %} or deals.deal_type is null{% endif %}
        )
),

hs_ticket_companies as (
    -- a ticket's company: direct association, else through its contact
    select
        ticket_id,
        company_id
    from (
        select
            from_id as ticket_id,
            to_id as company_id,
            1 as preference
        from links
        where from_object_type = 'tickets' and to_object_type = 'companies'
        union all by name
        select
            ticket_contact.from_id as ticket_id,
            contact_company.to_id as company_id,
            2 as preference
        from links as ticket_contact
        inner join links as contact_company
            on
                contact_company.from_object_type = 'contacts'
                and contact_company.to_object_type = 'companies'
                and ticket_contact.to_id = contact_company.from_id
        where ticket_contact.from_object_type = 'tickets' and ticket_contact.to_object_type = 'contacts'
    ) as ticket_company_candidates
    qualify row_number() over (partition by ticket_id order by preference, company_id) = 1
),

hs_cancellation_tickets as (
    select
        'notice' as record_kind,
        'hubspot' as source_system,
        'tickets' as source_object,
        tickets.ticket_id as source_record_id,
        hs_ticket_companies.company_id as source_account_id,
        tickets.created_at as event_at,
        tickets.created_at as notice_at,
        cast(tickets.cancellation_effective_date as timestamp) as churned_at,
        cast(null as double) as amount,
        tickets.cancellation_reason_raw as stated_reason_raw,
        cast(null as varchar) as competitor_raw,
        case
            when lower(coalesce(tickets.cancellation_outcome, ticket_stages.stage_label, '')) like '%saved%'
                then 'saved'
            when coalesce(ticket_stages.is_closed, false) or tickets.closed_at is not null then 'closed'
            else 'open'
        end as notice_status,
        tickets.owner_id
    from {{ ref('stg_hubspot__tickets') }} as tickets
    left join ticket_stages
        on tickets.pipeline_id = ticket_stages.pipeline_id and tickets.pipeline_stage_id = ticket_stages.stage_id
    left join hs_ticket_companies on tickets.ticket_id = hs_ticket_companies.ticket_id
    where
        not tickets.is_deleted
        and {{ hs_enum_in('tickets.ticket_category', var('hs_cancellation_ticket_categories')) }}
),

unioned as (
    select * from sf_lost_renewals
    union all by name
    select * from sf_cancellation_cases
    union all by name
    select * from hs_lost_deals
    union all by name
    select * from hs_cancellation_tickets
),

final as (
    select
        unioned.*,
        accounts.account_id
    from unioned
    left join accounts
        on
            unioned.source_system = accounts.source_system
            and unioned.source_account_id = accounts.source_account_id
)

select * from final
