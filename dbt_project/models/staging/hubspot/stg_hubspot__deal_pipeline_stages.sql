-- One row per deal-pipeline stage, newest landing wins (body shared with ticket stages: macros/hubspot.sql).
{{ stg_hubspot_pipeline_stages('deal_pipelines') }}
