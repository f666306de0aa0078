-- One row per ticket-pipeline stage, newest landing wins (body shared with deal stages: macros/hubspot.sql).
{{ stg_hubspot_pipeline_stages('ticket_pipelines') }}
