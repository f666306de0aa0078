-- Every CRM text that may hold exit feedback, one row each, with the records it is attached to:
-- Salesforce classic notes, Lightning notes (ContentNote), tasks (Log a Call), events, the
-- descriptions of lost opportunities and cancellation cases; HubSpot notes, tasks, feedback
-- submissions, cancellation tickets, calls, meetings, e-mails, deal descriptions and configured
-- extra fields. Deleted/archived records and records without text are left out.
with links as (
    select * from {{ ref('int_hubspot_links_bidirectional') }}
),

sf_notes as (
    select
        'salesforce' as source_system,
        'Note' as source_object,
        note_id as source_record_id,
        'salesforce_note' as feedback_source,
        parent_id as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        title,
        body_text,
        created_at as noted_at
    from {{ ref('stg_salesforce__notes') }}
    where not is_deleted
),

sf_tasks as (
    select
        'salesforce',
        'Task',
        task_id,
        'salesforce_task',
        coalesce(what_id, who_id),
        coalesce(account_id, who_id),
        subject,
        {{ strip_html('description') }}, coalesce(completed_at, cast(activity_date as timestamp), created_at)
    from {{ ref('stg_salesforce__tasks') }}
    where not is_deleted
),

sf_cases as (
    select
        'salesforce',
        'Case',
        case_id,
        'salesforce_case',
        case_id,
        account_id,
        subject,
        {{ strip_html('description') }}, created_at
    from {{ ref('stg_salesforce__cases') }}
    where not is_deleted and lower(case_type) in {{ sql_list(var('sf_cancellation_case_types')) }}
),

sf_content_notes as (
    -- shared to several records: the most specific one (opportunity, case, account, contact)
    select
        'salesforce',
        'ContentNote',
        notes.content_note_id,
        'salesforce_content_note',
        (
            select linked.id
            from unnest(notes.linked_entity_ids) as linked (id)
            where left(linked.id, 3) in ('006', '500', '001', '003')
            order by list_position(['006', '500', '001', '003'], left(linked.id, 3)), linked.id
            limit 1
        ),
        cast(null as varchar),
        notes.title,
        notes.body_text,
        notes.created_at
    from {{ ref('stg_salesforce__content_notes') }} as notes
    where not notes.is_deleted
),

sf_events as (
    select
        'salesforce',
        'Event',
        event_id,
        'salesforce_event',
        coalesce(what_id, who_id),
        coalesce(account_id, who_id),
        subject,
        description,
        coalesce(ended_at, started_at, created_at)
    from {{ ref('stg_salesforce__events') }}
    where not is_deleted
),

sf_opportunity_descriptions as (
    -- reps often write the exit interview into the lost opportunity itself
    select
        'salesforce',
        'Opportunity',
        opportunity_id,
        'salesforce_opportunity_description',
        opportunity_id,
        account_id,
        opportunity_name,
        description,
        coalesce(cast(close_date as timestamp), updated_at)
    from {{ ref('stg_salesforce__opportunities') }}
    where not is_deleted and is_closed and not is_won and description is not null
),

sf_extra_fields as (
    select
        'salesforce',
        sobject,
        record_id || '.' || field_name,
        'salesforce_extra_field',
        record_id,
        cast(null as varchar),
        field_name,
        body_text,
        updated_at
    from {{ ref('stg_salesforce__extra_text_fields') }}
    where not is_deleted
),

hs_notes as (
    select
        'hubspot',
        'notes',
        note_id,
        'hubspot_note',
        cast(null as varchar),
        cast(null as varchar),
        cast(null as varchar),
        body_text,
        noted_at
    from {{ ref('stg_hubspot__notes') }}
    where not is_deleted
),

hs_tasks as (
    select
        'hubspot',
        'tasks',
        task_id,
        'hubspot_task',
        cast(null as varchar),
        cast(null as varchar),
        subject,
        body_text,
        coalesce(completed_at, due_at, created_at)
    from {{ ref('stg_hubspot__tasks') }}
    where not is_deleted
),

hs_feedback_submissions as (
    select
        'hubspot',
        'feedback_submissions',
        submission_id,
        'hubspot_feedback_submission',
        cast(null as varchar),
        contact_id,
        survey_name,
        content_text,
        submitted_at
    from {{ ref('stg_hubspot__feedback_submissions') }}
    where not is_deleted
),

hs_tickets as (
    select
        'hubspot',
        'tickets',
        ticket_id,
        'hubspot_ticket',
        ticket_id,
        cast(null as varchar),
        subject,
        content_text,
        created_at
    from {{ ref('stg_hubspot__tickets') }}
    where
        not is_deleted
        and {{ hs_enum_in('ticket_category', var('hs_cancellation_ticket_categories')) }}
),

-- HubSpot engagements where exit interviews are logged: calls, meetings (notes of the meeting)
-- and e-mails; linked to their records through their associations (int_hubspot_links_bidirectional).
hs_calls as (
    select
        'hubspot',
        'calls',
        call_id,
        'hubspot_call',
        cast(null as varchar),
        cast(null as varchar),
        title,
        body_text,
        called_at
    from {{ ref('stg_hubspot__calls') }}
    where not is_deleted
),

hs_meetings as (
    select
        'hubspot',
        'meetings',
        meeting_id,
        'hubspot_meeting',
        cast(null as varchar),
        cast(null as varchar),
        title,
        body_text,
        met_at
    from {{ ref('stg_hubspot__meetings') }}
    where not is_deleted
),

hs_emails as (
    select
        'hubspot',
        'emails',
        email_id,
        'hubspot_email',
        cast(null as varchar),
        cast(null as varchar),
        subject,
        body_text,
        sent_at
    from {{ ref('stg_hubspot__emails') }}
    where not is_deleted
),

-- Texts typed into a record's own fields hang on that record (attached_record_id): the deal
-- description, and the portal's own long-text properties named in config (record id suffixed
-- with the property, so two fields of one deal stay two texts).
hs_deal_descriptions as (
    select
        'hubspot',
        'deals',
        deal_id,
        'hubspot_deal_description',
        deal_id,
        cast(null as varchar),
        deal_name,
        {{ strip_html('description') }}, coalesce(closed_at, updated_at)
    from {{ ref('stg_hubspot__deals') }}
    where not is_deleted
),

hs_extra_fields as (
    select
        'hubspot',
        object_type,
        record_id || '.' || property_name,
        'hubspot_extra_field',
        record_id,
        cast(null as varchar),
        property_name,
        body_text,
        updated_at
    from {{ ref('stg_hubspot__extra_text_properties') }}
    where not is_deleted
),

unioned as (
    select * from sf_notes
    union all
    select * from sf_tasks
    union all
    select * from sf_cases
    union all
    select * from sf_content_notes
    union all
    select * from sf_events
    union all
    select * from sf_opportunity_descriptions
    union all
    select * from sf_extra_fields
    union all
    select * from hs_notes
    union all
    select * from hs_tasks
    union all
    select * from hs_feedback_submissions
    union all
    select * from hs_tickets
    union all
    select * from hs_calls
    union all
    select * from hs_meetings
    union all
    select * from hs_emails
    union all
    select * from hs_deal_descriptions
    union all
    select * from hs_extra_fields
),

final as (
    select *
    from unioned
    where body_text is not null
)

select * from final
