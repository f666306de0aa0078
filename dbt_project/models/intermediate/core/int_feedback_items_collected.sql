{%- set exit_pattern = var('exit_interview_patterns') | join('|') | lower -%}

-- Exit feedback, unclassified: each CRM text linked to the churn event it is about.
-- Linked by association first (a note on the lost opportunity, a task on the cancellation case, a
-- HubSpot note associated with the lost deal or the cancellation ticket), else by time window: a
-- text of the same customer noted between `feedback_window_days_before_notice` days before the
-- notice (estimated `estimated_notice_days_before_churn` days before the churn without one) and
-- `feedback_window_days_after_churn` days after the churn (nearest event wins). A text is an exit
-- interview when it matches `exit_interview_patterns`, or is a note on the event's own records
-- written after the notice.
-- Texts linked to no churn event are not exit feedback and are not listed here.
-- Part B classifies these rows into fct_feedback_items.

with sources as (
    select * from {{ ref('int_feedback_sources_unioned') }}
),

links as (
    select * from {{ ref('int_hubspot_links_bidirectional') }}
),

attachments as (
    -- (text record) -> (record it hangs on); Salesforce ids are unique across objects
    select
        source_system,
        source_object,
        source_record_id,
        cast(null as varchar) as attached_object,
        attached_record_id as attached_id
    from sources
    where source_system = 'salesforce' and attached_record_id is not null
    union all by name
    select
        source_system,
        source_object,
        source_record_id,
        null as attached_object,
        attached_account_record_id as attached_id
    from sources
    where source_system = 'salesforce' and attached_account_record_id is not null
    union all by name
    select
        sources.source_system,
        sources.source_object,
        sources.source_record_id,
        links.to_object_type as attached_object,
        links.to_id as attached_id
    from sources
    inner join links on sources.source_object = links.from_object_type and sources.source_record_id = links.from_id
    where sources.source_system = 'hubspot'
    union all by name
    select
        source_system,
        source_object,
        source_record_id,
        'tickets' as attached_object,
        attached_record_id as attached_id
    from sources
    where source_object = 'tickets'
    union all by name
    -- a HubSpot text typed into a record's own field (deal description, extra text property)
    select
        source_system,
        source_object,
        source_record_id,
        source_object as attached_object,
        attached_record_id as attached_id
    from sources
    where source_system = 'hubspot' and feedback_source in ('hubspot_deal_description', 'hubspot_extra_field')
    union all by name
    select
        source_system,
        source_object,
        source_record_id,
        'contacts' as attached_object,
        attached_account_record_id as attached_id
    from sources
    where source_object = 'feedback_submissions' and attached_account_record_id is not null
),

churn_records as (
    select * from {{ ref('int_churn_records_grouped') }}
),

events as (
    -- a lost renewal without a notice record still had a notice: estimate it before the churn date
    select
        *,
        coalesce(notice_at, churned_at - interval ({{ var('estimated_notice_days_before_churn') }}) day)
            as notice_or_estimate_at
    from {{ ref('int_churn_events_merged') }}
),

direct_events as (
    select
        attachments.source_system,
        attachments.source_object,
        attachments.source_record_id,
        churn_records.churn_event_id
    from attachments
    inner join churn_records
        on
            attachments.source_system = churn_records.source_system
            and attachments.attached_id = churn_records.source_record_id
            and (attachments.attached_object is null or attachments.attached_object = churn_records.source_object)
    qualify row_number() over (
        partition by attachments.source_system, attachments.source_object, attachments.source_record_id
        order by churn_records.record_rank, churn_records.churn_event_id
    ) = 1
),

record_accounts as (
    select
        attachments.source_system,
        attachments.source_object,
        attachments.source_record_id,
        crm.account_id
    from attachments
    inner join {{ ref('int_crm_records_accounts') }} as crm
        on
            attachments.source_system = crm.source_system
            and attachments.attached_id = crm.record_id
            and (attachments.attached_object is null or attachments.attached_object = crm.source_object)
    group by attachments.source_system, attachments.source_object, attachments.source_record_id, crm.account_id
    qualify row_number() over (
        partition by attachments.source_system, attachments.source_object, attachments.source_record_id
        order by count(*) desc, crm.account_id
    ) = 1
),

located as (
    select
        sources.*,
        direct_events.churn_event_id as direct_churn_event_id,
        coalesce(direct_event_details.account_id, record_accounts.account_id) as account_id
    from sources
    left join direct_events
        on
            sources.source_system = direct_events.source_system
            and sources.source_object = direct_events.source_object
            and sources.source_record_id = direct_events.source_record_id
    left join events as direct_event_details on direct_events.churn_event_id = direct_event_details.churn_event_id
    left join record_accounts
        on
            sources.source_system = record_accounts.source_system
            and sources.source_object = record_accounts.source_object
            and sources.source_record_id = record_accounts.source_record_id
),

window_events as (
    select
        located.source_system,
        located.source_object,
        located.source_record_id,
        events.churn_event_id
    from located
    inner join events
        on
            located.account_id = events.account_id
            and located.noted_at
            between events.notice_or_estimate_at - interval ({{ var('feedback_window_days_before_notice') }}) day
            and coalesce(events.churned_at, events.notice_at)
            + interval ({{ var('feedback_window_days_after_churn') }}) day
    where located.direct_churn_event_id is null
    qualify row_number() over (
        partition by located.source_system, located.source_object, located.source_record_id
        order by
            abs(datediff('day', events.notice_or_estimate_at, located.noted_at)),
            events.churn_event_id
    ) = 1
),

final as (
    select
        'fbk_' || substr(md5(
            located.source_system || ':' || located.source_object || ':'
            || located.source_record_id
        ), 1, 16) as feedback_id,
        coalesce(located.direct_churn_event_id, window_events.churn_event_id) as churn_event_id,
        located.account_id,
        located.source_system,
        located.source_object,
        located.source_record_id,
        located.noted_at,
        located.title,
        located.body_text,
        coalesce(
            regexp_matches(lower(coalesce(located.title, '') || ' ' || located.body_text), '{{ exit_pattern }}')
            or (
                -- a note on the lost deal or the cancellation itself, written after the notice
                located.source_object in ('Note', 'notes', 'calls', 'meetings')
                and located.direct_churn_event_id is not null
                and located.noted_at >= linked_events.notice_or_estimate_at
            ),
            false
        ) as is_exit_interview,
        located.feedback_source,
        case when located.direct_churn_event_id is not null then 'association' else 'time_window' end
            as link_method
    from located
    left join window_events
        on
            located.source_system = window_events.source_system
            and located.source_object = window_events.source_object
            and located.source_record_id = window_events.source_record_id
    left join events as linked_events
        on linked_events.churn_event_id = coalesce(located.direct_churn_event_id, window_events.churn_event_id)
    where coalesce(located.direct_churn_event_id, window_events.churn_event_id) is not null
)

select * from final
