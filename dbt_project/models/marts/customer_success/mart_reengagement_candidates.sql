-- Former customers worth winning back, one row per account and trigger:
--   followup_30d      churned, 30-day follow-up not done yet and its window still open
--                     (eligible from day A of warehouse.slas.followup_window_days)
--   feature_shipped   their product feedback names a feature in warehouse.released_features
--                     (keywords, case-insensitive) that shipped after they told us
--   cooldown_elapsed  warehouse.reengagement.cooldown_days passed since the churn
--   champion_moved    a contact of a churned customer (same full name) now works at another
--                     account; the row is the NEW account, reached through that contact
-- Never listed: churn for reason `company` (closed down, acquired) for the first three triggers,
-- and accounts already back (a won deal/opportunity after their churn date).
-- Only each account's latest churn event counts. Priority: 1 high (hard events: feature shipped,
-- champion moved), 2 medium (30-day follow-up), 3 low (cool-down elapsed).
-- Every trigger is news for a while only: it expires `warehouse.reengagement.trigger_expiry_days`
-- after it became eligible (a move is news for months, not years); `is_eligible_now` is true
-- between eligible_from and expires_on. A churn event whose account is gone (archived, deleted,
-- not synced) has nobody to contact and lists nothing. The contact is the account's best contact
-- who has not moved away: a champion who moved is reached only at the new company.
{%- set followup_window = warehouse_setting('slas', 'followup_window_days', [25, 40]) %}
{%- set default_expiry = {'followup_30d': (followup_window[1] | int) - (followup_window[0] | int),
                          'feature_shipped': 90, 'cooldown_elapsed': 365, 'champion_moved': 90} %}
{%- set expiry = default_expiry.copy() %}
{%- do expiry.update(warehouse_setting('reengagement', 'trigger_expiry_days', {}) or {}) %}
{%- set cooldown_days = warehouse_setting('reengagement', 'cooldown_days', 180) | int %}
{%- set features = var('released_features', []) or [] %}
{%- set expiry_days -%}
    case chosen.trigger
    {%- for trigger, days in expiry.items() %}
        when '{{ trigger }}' then {{ days | int }}
    {%- endfor %}
        else 365
    end
{%- endset %}

with

churned_events as (
    select *
    from {{ ref('fct_churn_events') }}
    where churn_status = 'churned' and churned_at is not null
    qualify row_number() over (partition by account_id order by churned_at desc, churn_event_id asc) = 1
),

won_back as (
    select account_id from {{ ref('int_churn_events_won_back') }}
),

eligible_events as (
    -- NULL-safe anti-join: `not in` over a list holding a NULL is never true
    select churned_events.*
    from churned_events
    where
        churned_events.primary_reason_category <> 'company'
        and churned_events.account_id is not null
        and not exists (
            select 1 from won_back
            where won_back.account_id = churned_events.account_id
        )
),

checklist as (
    select
        churn_event_id,
        followup_status,
        as_of_date
    from {{ ref('mart_offboarding_checklist') }}
),

followup_30d as (
    select
        eligible_events.account_id,
        'followup_30d' as trigger,
        eligible_events.churn_event_id,
        cast(eligible_events.churned_at as date) + {{ followup_window[0] | int }} as eligible_from,
        2 as priority,
        'Churned ' || strftime(eligible_events.churned_at, '%Y-%m-%d') || '; 30-day follow-up not done yet'
            as trigger_detail,
        cast(null as varchar) as via_contact_id
    from eligible_events
    inner join checklist on eligible_events.churn_event_id = checklist.churn_event_id
    where checklist.followup_status = 'pending'
),

cooldown_elapsed as (
    select
        account_id,
        'cooldown_elapsed' as trigger,
        churn_event_id,
        cast(churned_at as date) + {{ cooldown_days }} as eligible_from,
        3 as priority,
        '{{ cooldown_days }} days since the churn on ' || strftime(churned_at, '%Y-%m-%d') as trigger_detail,
        cast(null as varchar) as via_contact_id
    from eligible_events
    where cast(churned_at as date) + {{ cooldown_days }} <= {{ as_of_date() }}
),

released_features as (
    {%- if features | length == 0 %}
        select
            cast(null as varchar) as feature_name,
            cast(null as date) as shipped_on,
            cast([] as varchar[]) as keywords
        where false
    {%- else %}
    select * from (values
        {%- for feature in features %}
        ('{{ feature.name | replace("'", "''") }}', date '{{ feature.shipped_at }}',
         [{%- for keyword in (feature.keywords or [feature.name]) -%}'{{ keyword | lower | replace("'", "''") }}'{{ ', ' if not loop.last }}{%- endfor -%}]::varchar[])
        {{- ',' if not loop.last }}
        {%- endfor %}
    ) as features(feature_name, shipped_on, keywords)
    {%- endif %}
),

product_feedback as (
    select
        feedback_id,
        churn_event_id,
        account_id,
        noted_at,
        lower(body_text) as body_text
    from {{ ref('fct_feedback_items') }}
    where list_contains(categories, 'product')
),

feature_shipped as (
    select
        eligible_events.account_id,
        'feature_shipped' as trigger,
        eligible_events.churn_event_id,
        max(released_features.shipped_on) as eligible_from,
        1 as priority,
        'Asked for '
        || string_agg(distinct released_features.feature_name, ', ' order by released_features.feature_name)
        || '; shipped' as trigger_detail,
        cast(null as varchar) as via_contact_id
    from eligible_events
    inner join product_feedback on eligible_events.account_id = product_feedback.account_id
    inner join released_features
        on
            -- `keyword` is the lambda's parameter, not a column: nothing to qualify
            len(list_filter(
                released_features.keywords, lambda keyword: contains(product_feedback.body_text, keyword)  -- noqa: RF02
            )) > 0
            and released_features.shipped_on >= cast(product_feedback.noted_at as date)
    group by eligible_events.account_id, eligible_events.churn_event_id
),

contacts as (
    select * from {{ ref('int_account_contacts') }}
),

accounts as (
    select
        account_id,
        account_name
    from {{ ref('dim_accounts') }}
),

champion_moves as (
    -- a contact of a churned account whose name reappears at another account after the churn
    select
        new_contacts.account_id,
        'champion_moved' as trigger,
        churned_events.churn_event_id,
        cast(new_contacts.created_at as date) as eligible_from,
        1 as priority,
        new_contacts.full_name || ' (formerly at ' || coalesce(former_accounts.account_name, churned_events.account_id)
        || ') joined' as trigger_detail,
        new_contacts.contact_id as via_contact_id,
        row_number() over (
            partition by new_contacts.account_id, new_contacts.contact_id order by churned_events.churned_at desc
        ) as move_rank
    from churned_events
    inner join contacts as former_contacts on churned_events.account_id = former_contacts.account_id
    inner join contacts as new_contacts
        on
            former_contacts.normalized_name = new_contacts.normalized_name
            and churned_events.account_id <> new_contacts.account_id
            and churned_events.churned_at < new_contacts.created_at
            and coalesce(new_contacts.email, '') <> coalesce(former_contacts.email, '')
    left join accounts as former_accounts on churned_events.account_id = former_accounts.account_id
),

moved_away as (
    -- contacts of churned accounts who now work elsewhere: their old address would bounce
    select distinct former_contacts.contact_id
    from churned_events
    inner join contacts as former_contacts on churned_events.account_id = former_contacts.account_id
    inner join contacts as new_contacts
        on
            former_contacts.normalized_name = new_contacts.normalized_name
            and churned_events.account_id <> new_contacts.account_id
            and churned_events.churned_at < new_contacts.created_at
            and coalesce(new_contacts.email, '') <> coalesce(former_contacts.email, '')
),

best_contacts as (
    select *
    from contacts
    where
        not exists (
            select 1 from moved_away
            where moved_away.contact_id = contacts.contact_id
        )
    qualify row_number() over (partition by account_id order by contact_rank) = 1
),

triggers as (
    select * from followup_30d
    union all by name
    select * from feature_shipped
    union all by name
    select * from cooldown_elapsed
    union all by name
    select * exclude (move_rank) from champion_moves
    where move_rank = 1
),

chosen as (
    -- one row per account and trigger (a new account may gain several former champions)
    select *
    from triggers
    qualify row_number() over (partition by account_id, trigger order by eligible_from, via_contact_id) = 1
),

events as (
    select
        churn_event_id,
        primary_reason_category,
        owner_id,
        churned_at,
        amount_lost
    from {{ ref('fct_churn_events') }}
),

final as (
    select
        chosen.account_id,
        accounts.account_name,
        coalesce(via_contacts.email, best_contacts.email) as contact_email,
        coalesce(via_contacts.full_name, best_contacts.full_name) as contact_name,
        chosen.trigger,
        events.primary_reason_category as reason_category,
        chosen.priority,
        chosen.eligible_from,
        chosen.eligible_from + {{ expiry_days }} as expires_on,
        chosen.eligible_from <= {{ as_of_date() }}
        and {{ as_of_date() }} <= chosen.eligible_from + {{ expiry_days }} as is_eligible_now,
        chosen.trigger_detail,
        chosen.churn_event_id,
        events.churned_at,
        events.amount_lost,
        events.owner_id
    from chosen
    left join events on chosen.churn_event_id = events.churn_event_id
    left join accounts on chosen.account_id = accounts.account_id
    left join contacts as via_contacts on chosen.via_contact_id = via_contacts.contact_id
    left join best_contacts on chosen.account_id = best_contacts.account_id
)

select * from final
