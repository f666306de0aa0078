{#-
    The one implementation of feedback classification.

    `fct_feedback_items` (through int_feedback_items_classified) and `churnkb classify` both render
    this macro; the command compiles it with `dbt compile --inline` and runs the SQL over stdin texts
    and the same seed CSVs, so the rules can never drift between the warehouse and the command.

    Arguments are relations (or plain table names):
      texts_relation    one row per text: <id_column>, <text_column>
      rules_relation    seed feedback_classification_rules: rule_id, pattern, category, priority, negatable
      cues_relation     seed feedback_negation_cues: cue_id, pattern, position ('before' | 'after' |
                        'emphasis': marks the main reason, matched against the text before a match)
    The rule and cue patterns are read from the seed CSVs at compile time and rendered as SQL
    constants, so DuckDB compiles each regular expression once instead of once per row; the
    relations still feed the rule attributes (category, priority, negatable) and the lineage.
      routing_relation  seed category_departments: category, department, is_primary_owner

    Method, in words:
      1. normalise the text (lower case, accents stripped, curly quotes straightened, CRM "w/"
         spelled out) so rules are written once in plain ASCII for en/es/de/fr/pt;
      2. split it into clauses at sentence ends, line breaks, bullets and contrastive conjunctions
         ("but", "however", "aber", "mais", "pero", ...; "though" only when a word follows, so
         "main reason though: ..." stays one clause) so a negation only reaches its own clause;
      3. match every rule in every clause; a match is negated when a 'before' cue matches the text
         just before it or an 'after' cue the text just after it (up to the next "and", "while",
         ...), inside the same clause ("pricing was never the issue", "not because of the price",
         but "too expensive and support was great" keeps pricing); rules with negatable = false
         carry their own negation ("no budget left") and are never negated;
      4. a text gets every category with at least one non-negated match; the primary category is
         the one marked as the main reason by an 'emphasis' cue ("main reason:", "above all"),
         else the one mentioned first (people lead with the main reason), rule priority breaking
         ties inside one phrase; no match gives 'unknown'; departments come from the routing seed.
-#}
{% macro classify_texts(texts_relation, rules_relation, cues_relation, routing_relation,
                        id_column='text_id', text_column='body_text') %}
{%- set rule_rows = classification_rule_patterns() %}
{%- set cue_rows = negation_cue_patterns() %}
with texts as (
    select
        {{ id_column }} as text_id,
        {{ churnkb_normalize_feedback_text(text_column) }} as normalized_text
    from {{ texts_relation }}
),

clause_lists as (
    select
        text_id,
        regexp_split_to_array(
            normalized_text,
            '[!?;\n\r\x{2022}*]+|\.(\s|$)|\s[-\x{2013}\x{2014}]\s|,\s*mais\b|\bthough\s|\b(but|however|although|whereas|aber|jedoch|sondern|cependant|pourtant|pero|sino|porem|contudo|entretanto)\b'
        ) as clauses
    from texts
),

clauses as (
    select
        text_id,
        unnest(clauses) as clause_text,
        unnest(range(1, len(clauses) + 1)) as clause_index
    from clause_lists
),

rules as (
    select
        cast(rule_id as varchar) as rule_id,
        cast(pattern as varchar) as pattern,
        cast(category as varchar) as category,
        cast(priority as integer) as priority,
        cast(negatable as boolean) as negatable
    from {{ rules_relation }}
),

matches as (
    -- every rule is rendered as a constant pattern (compiled once, not once per row)
    select
        clauses.text_id,
        clauses.clause_index,
        clauses.clause_text,
        unnest(list_filter([
            {%- for rule in rule_rows %}
            case when regexp_matches(clauses.clause_text, '{{ rule.pattern }}')
                then struct_pack(rule_id := '{{ rule.rule_id }}',
                                 matched_text := regexp_extract(clauses.clause_text, '{{ rule.pattern }}', 0))
            end,
            {%- endfor %}
            cast(null as struct(rule_id varchar, matched_text varchar))
        ], lambda found: found is not null)) as found
    from clauses
),

match_windows as (
    select
        matches.text_id,
        matches.clause_index,
        rules.rule_id,
        rules.category,
        rules.priority,
        rules.negatable,
        strpos(matches.clause_text, matches.found.matched_text) as match_start,
        -- why 60 characters: a negation two or three words away still counts, one from an
        -- unrelated half of a long clause does not
        right(substr(matches.clause_text, 1, strpos(matches.clause_text, matches.found.matched_text) - 1), 60)
            as text_before,
        left(substr(matches.clause_text,
                    strpos(matches.clause_text, matches.found.matched_text) + length(matches.found.matched_text)), 60)
            as text_after
    from matches
    inner join rules on rules.rule_id = matches.found.rule_id
),

scoped_windows as (
    -- why: an 'after' cue must describe the matched reason, not the next one ("too expensive and
    -- support was great" keeps pricing), so the text after a match stops at the next conjunction;
    -- a coordinated subject ("price and support were fine") still reaches its verb
    select
        *,
        case
            when regexp_matches(text_after, '^,? (and|or|&) ([a-z]+ ){0,2}(were|are|have been|had been)\b')
                then text_after
            else regexp_replace(
                text_after,
                '\b(and|while|whereas|also|otherwise|plus|yet|so|because|since|though|although|y|und|et|e)\b.*$', ''
            )
        end as text_after_in_scope
    from match_windows
),

judged_matches as (
    select
        scoped_windows.* exclude (text_after_in_scope),
        negatable and (
            {{ churnkb_any_pattern('scoped_windows.text_before', cue_rows, 'before') }}
            or {{ churnkb_any_pattern('scoped_windows.text_after_in_scope', cue_rows, 'after') }}
        ) as is_negated,
        {{ churnkb_any_pattern('scoped_windows.text_before', cue_rows, 'emphasis') }} as is_emphasized
    from scoped_windows
),

category_evidence as (
    select
        text_id,
        category,
        max(priority) as best_priority,
        bool_or(is_emphasized) as is_emphasized,
        min(clause_index * 10000 + match_start) as first_position,
        list(rule_id order by priority desc, rule_id) as matched_rule_ids
    from judged_matches
    where not is_negated
    group by text_id, category
),

ranked_categories as (
    select
        *,
        row_number() over (
            partition by text_id
            order by is_emphasized desc, first_position, best_priority desc, category
        ) as category_rank
    from category_evidence
),

negated_rules as (
    select text_id, list(rule_id order by rule_id) as negated_rule_ids
    from judged_matches
    where is_negated
    group by text_id
),

categorized as (
    select
        texts.text_id,
        coalesce(
            list(ranked.category order by ranked.category_rank) filter (where ranked.category is not null),
            ['unknown']
        ) as categories,
        coalesce(min_by(ranked.category, ranked.category_rank), 'unknown') as primary_category,
        flatten(coalesce(
            list(ranked.matched_rule_ids order by ranked.category_rank) filter (where ranked.category is not null),
            []
        )) as matched_rule_ids
    from texts
    left join ranked_categories as ranked on texts.text_id = ranked.text_id
    group by texts.text_id
),

routing as (
    select
        cast(category as varchar) as category,
        cast(department as varchar) as department,
        cast(is_primary_owner as boolean) as is_primary_owner
    from {{ routing_relation }}
),

departments as (
    select
        categorized.text_id,
        list(distinct routing.department order by routing.department) as departments
    from categorized, unnest(categorized.categories) as category_list(category)
    inner join routing on routing.category = category_list.category
    group by categorized.text_id
),

final as (
    select
        categorized.text_id,
        categorized.categories,
        categorized.primary_category,
        primary_routing.department,
        coalesce(departments.departments, [primary_routing.department]) as departments,
        categorized.matched_rule_ids,
        coalesce(negated_rules.negated_rule_ids, []) as negated_rule_ids
    from categorized
    left join routing as primary_routing
        on primary_routing.category = categorized.primary_category and primary_routing.is_primary_owner
    left join departments on departments.text_id = categorized.text_id
    left join negated_rules on negated_rules.text_id = categorized.text_id
)

select * from final
{% endmacro %}


{#- Lower case, accents stripped, curly quotes and runs of blanks made plain: rules stay ASCII.
    CRM shorthand "w/" and "w/o" is spelled out so rules need not know it ("went w/ a competitor"). -#}
{% macro churnkb_normalize_feedback_text(text_expression) %}
    regexp_replace(regexp_replace(regexp_replace(
        strip_accents(lower(replace(replace(coalesce({{ text_expression }}, ''), chr(8217), ''''), chr(223), 'ss'))),
        '\bw/o\b', 'without', 'g'), '\bw/ ?', 'with ', 'g'),
        '[ \t]+', ' ', 'g'
    )
{% endmacro %}


{#- The rule and cue patterns (dbt unit tests override these two macros with a few rows, since
    unit tests render without the project graph). -#}
{% macro classification_rule_patterns() %}
    {{ return(churnkb_seed_rows('feedback_classification_rules', 'rule_id, pattern')) }}
{% endmacro %}

{% macro negation_cue_patterns() %}
    {{ return(churnkb_seed_rows('feedback_negation_cues', 'position, pattern')) }}
{% endmacro %}


{#- Rows of a seed CSV read at compile time, so its patterns become SQL constants. The file is the
    one dbt loads as the seed (found through the graph), so model, unit tests and command agree. -#}
{% macro churnkb_seed_rows(seed_name, columns) %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set nodes = (graph.get('nodes') or {}).values() -%}
    {%- set seeds = nodes | selectattr('resource_type', 'equalto', 'seed')
                    | selectattr('name', 'equalto', seed_name) | list -%}
    {%- if seeds | length == 0 -%}
        {{ exceptions.raise_compiler_error("classification seed '" ~ seed_name ~ "' is not in the project") }}
    {%- endif -%}
    {%- set path = seeds[0].root_path ~ '/' ~ seeds[0].original_file_path -%}
    {%- set result = run_query("select " ~ columns ~ " from read_csv('" ~ path ~ "', header = true, all_varchar = true)") -%}
    {%- set rows = [] -%}
    {%- for row in result.rows -%}
        {%- set record = {} -%}
        {%- for name in result.column_names -%}
            {%- do record.update({name: (row[name] | string) | replace("'", "''")}) -%}
        {%- endfor -%}
        {%- do rows.append(record) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}


{#- A SQL boolean: does the text match any cue of the given position? (constant patterns) -#}
{% macro churnkb_any_pattern(text_expression, cue_rows, position) %}
    {%- set patterns = cue_rows | selectattr('position', 'equalto', position) | map(attribute='pattern') | list -%}
    {%- if patterns | length == 0 -%}
        false
    {%- else -%}
        ({%- for pattern in patterns -%}
            regexp_matches({{ text_expression }}, '{{ pattern }}'){{ ' or ' if not loop.last }}
        {%- endfor -%})
    {%- endif -%}
{% endmacro %}
