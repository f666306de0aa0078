-- Every CRM text that may hold exit feedback, one row each, with the records it is attached to:
-- Salesforce classic notes, Lightning notes (ContentNote), tasks (Log a Call), events, the
-- descriptions of lost opportunities and cancellation cases; HubSpot notes, tasks, feedback
-- submissions, cancellation tickets, calls, meetings, e-mails, deal descriptions and configured
-- extra fields. Deleted/archived records and records without text are left out.
with sf_notes as (
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
        'salesforce' as source_system,
        'Task' as source_object,
        task_id as source_record_id,
        'salesforce_task' as feedback_source,
        coalesce(what_id, who_id) as attached_record_id,
        coalesce(account_id, who_id) as attached_account_record_id,
        subject as title,
        {{ strip_html('description') }} as body_text,
        coalesce(completed_at, cast(activity_date as timestamp), created_at) as noted_at
    from {{ ref('stg_salesforce__tasks') }}
    where not is_deleted
),

sf_cases as (
    select
        'salesforce' as source_system,
        'Case' as source_object,
        case_id as source_record_id,
        'salesforce_case' as feedback_source,
        case_id as attached_record_id,
        account_id as attached_account_record_id,
        subject as title,
        {{ strip_html('description') }} as body_text,
        created_at as noted_at
    from {{ ref('stg_salesforce__cases') }}
    where not is_deleted and lower(case_type) in {{ sql_list(var('sf_cancellation_case_types')) }}
),

sf_content_notes as (
    -- shared to several records: the most specific one (opportunity, case, account, contact)
    select
        'salesforce' as source_system,
        'ContentNote' as source_object,
        notes.content_note_id as source_record_id,
        'salesforce_content_note' as feedback_source,
        (
            select linked.id
            from unnest(notes.linked_entity_ids) as linked (id)
            where left(linked.id, 3) in ('006', '500', '001', '003')
            order by list_position(['006', '500', '001', '003'], left(linked.id, 3)), linked.id
            limit 1
        ) as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        notes.title,
        notes.body_text,
        notes.created_at as noted_at
    from {{ ref('stg_salesforce__content_notes') }} as notes
    where not notes.is_deleted
),

sf_events as (
    select
        'salesforce' as source_system,
        'Event' as source_object,
        event_id as source_record_id,
        'salesforce_event' as feedback_source,
        coalesce(what_id, who_id) as attached_record_id,
        coalesce(account_id, who_id) as attached_account_record_id,
        subject as title,
        description as body_text,
        coalesce(ended_at, started_at, created_at) as noted_at
    from {{ ref('stg_salesforce__events') }}
    where not is_deleted
),

sf_opportunity_descriptions as (
    -- reps often write the exit interview into the lost opportunity itself
    select
        'salesforce' as source_system,
        'Opportunity' as source_object,
        opportunity_id as source_record_id,
        'salesforce_opportunity_description' as feedback_source,
        opportunity_id as attached_record_id,
        account_id as attached_account_record_id,
        opportunity_name as title,
        description as body_text,
        coalesce(cast(close_date as timestamp), updated_at) as noted_at
    from {{ ref('stg_salesforce__opportunities') }}
    where not is_deleted and is_closed and not is_won and description is not null
),

sf_extra_fields as (
    select
        'salesforce' as source_system,
        sobject as source_object,
        record_id || '.' || field_name as source_record_id,
        'salesforce_extra_field' as feedback_source,
        record_id as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        field_name as title,
        body_text,
        updated_at as noted_at
    from {{ ref('stg_salesforce__extra_text_fields') }}
    where not is_deleted
),

hs_notes as (
    select
        'hubspot' as source_system,
        'notes' as source_object,
        note_id as source_record_id,
        'hubspot_note' as feedback_source,
        cast(null as varchar) as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        cast(null as varchar) as title,
        body_text,
        noted_at
    from {{ ref('stg_hubspot__notes') }}
    where not is_deleted
),

hs_tasks as (
    select
        'hubspot' as source_system,
        'tasks' as source_object,
        task_id as source_record_id,
        'hubspot_task' as feedback_source,
        cast(null as varchar) as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        subject as title,
        body_text,
        coalesce(completed_at, due_at, created_at) as noted_at
    from {{ ref('stg_hubspot__tasks') }}
    where not is_deleted
),

hs_feedback_submissions as (
    select
        'hubspot' as source_system,
        'feedback_submissions' as source_object,
        submission_id as source_record_id,
        'hubspot_feedback_submission' as feedback_source,
        cast(null as varchar) as attached_record_id,
        contact_id as attached_account_record_id,
        survey_name as title,
        content_text as body_text,
        submitted_at as noted_at
    from {{ ref('stg_hubspot__feedback_submissions') }}
    where not is_deleted
),

hs_tickets as (
    select
        'hubspot' as source_system,
        'tickets' as source_object,
        ticket_id as source_record_id,
        'hubspot_ticket' as feedback_source,
        ticket_id as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        subject as title,
        content_text as body_text,
        created_at as noted_at
    from {{ ref('stg_hubspot__tickets') }}
    where
        not is_deleted
        and {{ hs_enum_in('ticket_category', var('hs_cancellation_ticket_categories')) }}
),

-- HubSpot engagements where exit interviews are logged: calls, meetings (notes of the meeting)
-- and e-mails; linked to their records through their associations (int_hubspot_links_bidirectional).
hs_calls as (
    select
        'hubspot' as source_system,
        'calls' as source_object,
        call_id as source_record_id,
        'hubspot_call' as feedback_source,
        cast(null as varchar) as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        title,
        body_text,
        called_at as noted_at
    from {{ ref('stg_hubspot__calls') }}
    where not is_deleted
),

hs_meetings as (
    select
        'hubspot' as source_system,
        'meetings' as source_object,
        meeting_id as source_record_id,
        'hubspot_meeting' as feedback_source,
        cast(null as varchar) as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        title,
        body_text,
        met_at as noted_at
    from {{ ref('stg_hubspot__meetings') }}
    where not is_deleted
),

hs_emails as (
    select
        'hubspot' as source_system,
        'emails' as source_object,
        email_id as source_record_id,
        'hubspot_email' as feedback_source,
        cast(null as varchar) as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        subject as title,
        body_text,
        sent_at as noted_at
    from {{ ref('stg_hubspot__emails') }}
    where not is_deleted
),

-- Texts typed into a record's own fields hang on that record (attached_record_id): the deal
-- description, and the portal's own long-text properties named in config (record id suffixed
-- with the property, so two fields of one deal stay two texts).
hs_deal_descriptions as (
    select
        'hubspot' as source_system,
        'deals' as source_object,
        deal_id as source_record_id,
        'hubspot_deal_description' as feedback_source,
        deal_id as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        deal_name as title,
        {{ strip_html('description') }} as body_text,
        coalesce(closed_at, updated_at) as noted_at
    from {{ ref('stg_hubspot__deals') }}
    where not is_deleted
),

hs_extra_fields as (
    select
        'hubspot' as source_system,
        object_type as source_object,
        record_id || '.' || property_name as source_record_id,
        'hubspot_extra_field' as feedback_source,
        record_id as attached_record_id,
        cast(null as varchar) as attached_account_record_id,
        property_name as title,
        body_text,
        updated_at as noted_at
    from {{ ref('stg_hubspot__extra_text_properties') }}
    where not is_deleted
),

unioned as (
    select * from sf_notes
    union all by name
    select * from sf_tasks
    union all by name
    select * from sf_cases
    union all by name
    select * from sf_content_notes
    union all by name
    select * from sf_events
    union all by name
    select * from sf_opportunity_descriptions
    union all by name
    select * from sf_extra_fields
    union all by name
    select * from hs_notes
    union all by name
    select * from hs_tasks
    union all by name
    select * from hs_feedback_submissions
    union all by name
    select * from hs_tickets
    union all by name
    select * from hs_calls
    union all by name
    select * from hs_meetings
    union all by name
    select * from hs_emails
    union all by name
    select * from hs_deal_descriptions
    union all by name
    select * from hs_extra_fields
),

final as (
    select *
    from unioned
    where body_text is not null
)

select * from final
