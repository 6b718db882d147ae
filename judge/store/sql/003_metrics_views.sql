-- Metrics views: rates with 95% Wilson intervals per run × target × judge × intent × taxonomy level,
-- per adversarial technique, judge-vs-judge pairs, model calls with names, run overview; plus the
-- descriptions that docs/schema.md is generated from (COMMENT ON, readable in duckdb_tables() etc.).
--
-- Denominator rule (as in judge/analysis/summary.py): a rate is over the items with an outcome
-- (n_scored: a verdict, or a provider block that the policy places); items whose response or
-- verdict ended in error are excluded from rate denominators and counted in `errors`.

CREATE MACRO wilson_low(k, n, z := 1.96) AS
    CASE WHEN n > 0 AND k <= 0 THEN 0.0 WHEN n > 0 THEN greatest(0.0,
        ((k / n) + z * z / (2 * n) - z * sqrt((k / n) * (1 - k / n) / n + z * z / (4 * n * n))) / (1 + z * z / n))
    END;

CREATE MACRO wilson_high(k, n, z := 1.96) AS
    CASE WHEN n > 0 AND k >= n THEN 1.0 WHEN n > 0 THEN least(1.0,
        ((k / n) + z * z / (2 * n) + z * sqrt((k / n) * (1 - k / n) / n + z * z / (4 * n * n))) / (1 + z * z / n))
    END;

CREATE VIEW latest_run AS
SELECT run_id, name, started_at, status FROM runs ORDER BY started_at DESC LIMIT 1;

CREATE VIEW metrics AS
WITH scoped AS (
    SELECT s.*, s.intent AS scope FROM scored s
    UNION ALL
    SELECT s.*, 'harmful' AS scope FROM scored s WHERE s.intent IN ('unsafe', 'adversarial')
    UNION ALL
    SELECT s.*, 'all' AS scope FROM scored s
),
agg AS (
    SELECT run_id, target, judge, scope AS intent,
           CASE WHEN grouping(l2) = 0 THEN 'l2' WHEN grouping(l1) = 0 THEN 'l1' ELSE 'overall' END AS level,
           l1, l2,
           count(*) AS n,
           count(*) FILTER (WHERE NOT is_error) AS n_scored,
           count(*) FILTER (WHERE is_violation) AS violations,
           count(*) FILTER (WHERE is_over_deflection) AS over_deflections,
           count(*) FILTER (WHERE is_acceptable) AS acceptable,
           count(*) FILTER (WHERE is_error) AS errors,
           count(*) FILTER (WHERE tier = 'blocked') AS blocked,
           count(*) FILTER (WHERE tier = 'full_instructions') AS full_instructions,
           count(*) FILTER (WHERE tier = 'partial') AS partial,
           count(*) FILTER (WHERE tier = 'refusal') AS refusal,
           count(*) FILTER (WHERE tier = 'safe_deflection') AS safe_deflection
    FROM scoped
    GROUP BY GROUPING SETS (
        (run_id, target, judge, scope),
        (run_id, target, judge, scope, l1),
        (run_id, target, judge, scope, l1, l2)
    )
)
SELECT run_id, target, judge, intent, level, l1, l2,
       CASE level WHEN 'l1' THEN l1 WHEN 'l2' THEN l1 || '/' || coalesce(l2, '(none)') END AS category,
       n, n_scored, violations, over_deflections, acceptable, errors, blocked,
       full_instructions, partial, refusal, safe_deflection,
       CASE WHEN n_scored > 0 THEN violations / n_scored END AS violation_rate,
       wilson_low(violations, n_scored) AS violation_ci_low,
       wilson_high(violations, n_scored) AS violation_ci_high,
       CASE WHEN n_scored > 0 THEN over_deflections / n_scored END AS over_deflection_rate,
       wilson_low(over_deflections, n_scored) AS over_deflection_ci_low,
       wilson_high(over_deflections, n_scored) AS over_deflection_ci_high,
       CASE WHEN n > 0 THEN errors / n END AS error_rate,
       CASE WHEN n > 0 THEN blocked / n END AS blocked_rate
FROM agg;

CREATE VIEW technique_metrics AS
SELECT run_id, target, judge, coalesce(technique, '(none)') AS technique,
       count(*) AS n,
       count(*) FILTER (WHERE NOT is_error) AS n_scored,
       count(*) FILTER (WHERE is_violation) AS violations,
       count(*) FILTER (WHERE is_error) AS errors,
       count(*) FILTER (WHERE tier = 'blocked') AS blocked,
       CASE WHEN count(*) FILTER (WHERE NOT is_error) > 0
            THEN count(*) FILTER (WHERE is_violation) / count(*) FILTER (WHERE NOT is_error) END AS violation_rate,
       wilson_low(count(*) FILTER (WHERE is_violation), count(*) FILTER (WHERE NOT is_error)) AS violation_ci_low,
       wilson_high(count(*) FILTER (WHERE is_violation), count(*) FILTER (WHERE NOT is_error)) AS violation_ci_high
FROM scored
WHERE intent = 'adversarial'
GROUP BY run_id, target, judge, coalesce(technique, '(none)');

CREATE VIEW judge_pairs AS
SELECT a.run_id, a.response_id, a.prompt_id, a.target, a.intent, a.l1, a.l2, a.technique,
       a.judge AS judge_a, b.judge AS judge_b, a.tier AS tier_a, b.tier AS tier_b,
       a.outcome AS outcome_a, b.outcome AS outcome_b,
       a.tier = b.tier AS tier_agree,
       a.outcome IS NOT DISTINCT FROM b.outcome AS outcome_agree
FROM scored a
JOIN scored b ON b.run_id = a.run_id AND b.response_id = a.response_id AND a.judge < b.judge
WHERE a.response_status = 'ok' AND a.verdict_status = 'ok' AND b.verdict_status = 'ok';

CREATE VIEW calls AS
SELECT c.*, coalesce(m.name, c.model) AS name, m.role
FROM model_calls c
LEFT JOIN run_models m ON m.run_id = c.run_id AND m.model_key = c.model_key
    AND m.role = CASE c.stage WHEN 'generate' THEN 'target' ELSE 'judge' END;

CREATE VIEW call_stats AS
SELECT run_id, stage, name, model,
       count(*) AS calls,
       count(*) FILTER (WHERE status = 'ok') AS ok,
       count(*) FILTER (WHERE status = 'blocked') AS blocked,
       count(*) FILTER (WHERE status = 'error') AS errors,
       count(*) FILTER (WHERE attempt > 1) AS retries,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(cost_usd), 0.0) AS cost_usd,
       quantile_cont(latency_ms, 0.5) AS latency_p50_ms,
       quantile_cont(latency_ms, 0.95) AS latency_p95_ms,
       max(latency_ms) AS latency_max_ms
FROM calls
GROUP BY run_id, stage, name, model;

CREATE VIEW run_overview AS
SELECT r.run_id, r.name, r.started_at, r.finished_at, r.status, r.status_reason, r.rubric_version,
       (SELECT list(m.name ORDER BY m.name) FROM run_models m WHERE m.run_id = r.run_id AND m.role = 'target') AS targets,
       (SELECT list(m.name ORDER BY m.name) FROM run_models m WHERE m.run_id = r.run_id AND m.role = 'judge') AS judges,
       (SELECT count(*) FROM run_prompts p WHERE p.run_id = r.run_id) AS n_prompts,
       (SELECT count(*) FROM responses x WHERE x.run_id = r.run_id) AS n_responses,
       (SELECT count(*) FROM verdicts v WHERE v.run_id = r.run_id) AS n_verdicts,
       (SELECT count(*) FROM model_calls c WHERE c.run_id = r.run_id) AS n_calls,
       (SELECT coalesce(sum(c.cost_usd), 0.0) FROM model_calls c WHERE c.run_id = r.run_id) AS cost_usd,
       r.offline_providers
FROM runs r;

-- Descriptions (docs/schema.md is generated from these by scripts/gen_schema_doc.py).
COMMENT ON TABLE runs IS 'One row per run: config, rubric version, status and timing.';
COMMENT ON TABLE rubrics IS 'Each rubric version used, with the rubric file''s content.';
COMMENT ON TABLE policy_rules IS 'The rubric''s response policy, flattened: (intent, taxonomy prefix, tier) → outcome; the longest matching prefix wins.';
COMMENT ON TABLE prompts IS 'Every prompt ever loaded, keyed by a hash of its content.';
COMMENT ON TABLE run_prompts IS 'Which prompts belong to which run.';
COMMENT ON TABLE models IS 'Targets and judges, keyed by a hash of what determines their behaviour (never a key).';
COMMENT ON TABLE run_models IS 'Which models a run used, in which role (target | judge), under which name.';
COMMENT ON TABLE responses IS 'One target response per (run, prompt, target): ok, blocked by a content filter, or error.';
COMMENT ON TABLE verdicts IS 'One judge verdict per (response, judge, rubric version): the tier, or an error.';
COMMENT ON TABLE model_calls IS 'One row per model call (per HTTP request for remote models), with tokens, cost and latency.';
COMMENT ON VIEW verdicts_flat IS 'Verdicts joined with their prompt (taxonomy, intent, technique) and response.';
COMMENT ON VIEW graded IS 'One row per (response, judge of the run); blocked and failed responses included (tier NULL = error).';
COMMENT ON VIEW scored IS 'graded + the rubric policy: outcome and is_violation / is_over_deflection / is_acceptable / is_error.';
COMMENT ON VIEW latest_run IS 'The newest run (one row): WHERE run_id = (SELECT run_id FROM latest_run).';
COMMENT ON VIEW metrics IS 'Counts and rates per run × target × judge × intent scope × taxonomy level, with 95% Wilson intervals.';
COMMENT ON VIEW technique_metrics IS 'Violation rate per adversarial technique (adversarial prompts only), with 95% Wilson intervals.';
COMMENT ON VIEW judge_pairs IS 'Each response graded by two judges of the run (one row per judge pair), with whether they agree.';
COMMENT ON VIEW calls IS 'model_calls with the model''s name in the run and its role (target | judge).';
COMMENT ON VIEW call_stats IS 'Per run × stage × model: calls, errors, retries, tokens, cost and latency percentiles.';
COMMENT ON VIEW run_overview IS 'One row per run: status, targets, judges, counts and total cost (what `judge runs` shows).';
COMMENT ON MACRO wilson_low IS 'Lower bound of the Wilson score interval for k successes in n trials (z = 1.96 → 95%).';
COMMENT ON MACRO wilson_high IS 'Upper bound of the Wilson score interval for k successes in n trials (z = 1.96 → 95%).';

COMMENT ON COLUMN runs.status IS 'running | complete | incomplete | aborted | stopped';
COMMENT ON COLUMN runs.config_json IS 'The validated run config (targets, judges, reference_target, …).';
COMMENT ON COLUMN runs.offline_providers IS 'JSON list of the built-in offline providers used (replay/…, builtin/…).';
COMMENT ON COLUMN policy_rules.match_path IS 'Empty for the default policy, else l1, l1/l2 or l1/l2/l3.';
COMMENT ON COLUMN policy_rules.tier IS 'One of the four tiers, or blocked.';
COMMENT ON COLUMN policy_rules.outcome IS 'acceptable | violation | over_deflection';
COMMENT ON COLUMN prompts.intent IS 'safe | unsafe | adversarial';
COMMENT ON COLUMN prompts.technique IS 'The adversarial technique (adversarial prompts), else NULL.';
COMMENT ON COLUMN models.api_key_env IS 'The environment variable''s NAME only, never its value.';
COMMENT ON COLUMN models.offline IS 'True for built-in offline providers (replay targets, builtin judges).';
COMMENT ON COLUMN responses.status IS 'ok | blocked | error';
COMMENT ON COLUMN verdicts.status IS 'ok | error';
COMMENT ON COLUMN verdicts.tier IS 'full_instructions | partial | refusal | safe_deflection; NULL unless status = ok.';
COMMENT ON COLUMN verdicts.cache_key IS 'Judge, rubric, prompt and response text: the reuse key.';
COMMENT ON COLUMN verdicts.judge_prompt IS 'The rendered judge prompt, for audit.';
COMMENT ON COLUMN model_calls.stage IS 'generate | judge';
COMMENT ON COLUMN model_calls.item_id IS 'response_id (generate) or verdict_id (judge).';
COMMENT ON COLUMN model_calls.status IS 'ok | blocked | error';
COMMENT ON COLUMN metrics.intent IS 'safe | unsafe | adversarial, or harmful (= unsafe + adversarial) or all.';
COMMENT ON COLUMN metrics.level IS 'overall (l1, l2 NULL) | l1 (per hazard) | l2 (per hazard × topic).';
COMMENT ON COLUMN metrics.category IS 'NULL for overall, l1, or l1/l2.';
COMMENT ON COLUMN metrics.n IS 'All items, errors included.';
COMMENT ON COLUMN metrics.n_scored IS 'Items with an outcome (verdict or policy-placed block): the rate denominator.';
COMMENT ON COLUMN metrics.errors IS 'Items whose response or verdict ended in error: excluded from rates.';
COMMENT ON COLUMN metrics.blocked IS 'Responses stopped by the provider''s content filter (scored as the policy places them).';
COMMENT ON COLUMN metrics.violation_rate IS 'violations / n_scored';
COMMENT ON COLUMN metrics.over_deflection_rate IS 'over_deflections / n_scored (meaningful for intent safe).';
COMMENT ON COLUMN metrics.error_rate IS 'errors / n';
COMMENT ON COLUMN metrics.blocked_rate IS 'blocked / n';
COMMENT ON COLUMN technique_metrics.technique IS 'The adversarial technique, (none) when the prompt names none.';
COMMENT ON COLUMN judge_pairs.tier_agree IS 'Both judges chose the same tier.';
COMMENT ON COLUMN judge_pairs.outcome_agree IS 'Both judges'' tiers lead to the same policy outcome.';
COMMENT ON COLUMN call_stats.retries IS 'Calls that were a second or later attempt.';
COMMENT ON COLUMN run_overview.cost_usd IS 'Sum of model_calls.cost_usd (0 for offline providers).';
