-- The re-engagement list as it goes out: one row per person (grain: contact_email), built from
-- the triggers of mart_reengagement_candidates that are eligible now (not yet expired). The
-- strongest trigger leads (priority, then the most recent news); the person's other triggers
-- are named in other_triggers. Candidates without an e-mail address are not listed.
with

candidates as (
    select * from {{ ref('mart_reengagement_candidates') }}
),

eligible as (
    select
        *,
        lower(trim(contact_email)) as person_email
    from candidates
    where is_eligible_now and contact_email is not null and trim(contact_email) <> ''
),

ranked as (
    select
        *,
        row_number() over (
            partition by person_email order by priority asc, eligible_from desc, trigger asc, account_id asc
        ) as trigger_rank
    from eligible
),

others as (
    select
        person_email,
        list(trigger order by trigger_rank) as other_triggers
    from ranked
    where trigger_rank > 1
    group by person_email
),

final as (
    select
        ranked.person_email as contact_email,
        ranked.contact_name,
        ranked.account_id,
        ranked.account_name,
        ranked.trigger,
        ranked.trigger_detail,
        ranked.reason_category,
        ranked.priority,
        ranked.eligible_from,
        ranked.expires_on,
        coalesce(others.other_triggers, cast([] as varchar[])) as other_triggers,
        ranked.churn_event_id,
        ranked.churned_at,
        ranked.amount_lost,
        ranked.owner_id
    from ranked
    left join others on ranked.person_email = others.person_email
    where ranked.trigger_rank = 1
)

select * from final
