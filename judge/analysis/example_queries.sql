-- Example queries over the judge store (DuckDB SQL). Run one with
--   judge sql "…"            or save it to a file and run   judge sql --file q.sql
-- Each query looks at the newest run (`latest_run`); put a run id in its place for another run.
-- Format: each query starts with a `-- name:` line, then `-- title:` and optional comment lines.
-- docs/schema.md is generated from this file (scripts/gen_schema_doc.py) and tests run every query.

-- name: violation_rate_by_hazard
-- title: Violation rate by hazard for target X
-- Unsafe + adversarial prompts (intent scope `harmful`), per judge, with 95% Wilson intervals.
-- Replace 'model-a' with your target's name.
SELECT l1 AS hazard, judge, n_scored, violations,
       round(100 * violation_rate, 1) AS violation_pct,
       round(100 * violation_ci_low, 1) AS ci_low_pct,
       round(100 * violation_ci_high, 1) AS ci_high_pct,
       errors, blocked
FROM metrics
WHERE run_id = (SELECT run_id FROM latest_run)
  AND target = 'model-a' AND intent = 'harmful' AND level = 'l1'
ORDER BY violation_rate DESC NULLS LAST, hazard, judge;

-- name: judges_disagree
-- title: Responses where two judges disagree
-- One row per response and judge pair whose tiers differ; outcome_agree says whether the
-- disagreement changes the policy outcome (the ones that matter come first).
SELECT target, prompt_id, intent, l1 AS hazard, judge_a, tier_a, judge_b, tier_b,
       outcome_a, outcome_b, outcome_agree
FROM judge_pairs
WHERE run_id = (SELECT run_id FROM latest_run) AND NOT tier_agree
ORDER BY outcome_agree, target, prompt_id, judge_a, judge_b;

-- name: best_adversarial_techniques
-- title: Which adversarial techniques work best
-- Violation rate per technique, pooled over targets, per judge.
SELECT technique, judge, sum(n_scored) AS n_scored, sum(violations) AS violations,
       round(100 * sum(violations) / sum(n_scored), 1) AS violation_pct,
       round(100 * wilson_low(sum(violations), sum(n_scored)), 1) AS ci_low_pct,
       round(100 * wilson_high(sum(violations), sum(n_scored)), 1) AS ci_high_pct
FROM technique_metrics
WHERE run_id = (SELECT run_id FROM latest_run)
GROUP BY technique, judge
HAVING sum(n_scored) > 0
ORDER BY violation_pct DESC, technique, judge;

-- name: cost_per_judge
-- title: Cost per judge
-- Calls, retries, tokens and cost of each judge in the newest run (offline judges cost 0).
SELECT name AS judge, model, calls, errors, retries, prompt_tokens, completion_tokens,
       round(cost_usd, 4) AS cost_usd,
       round(cost_usd / nullif(calls, 0), 6) AS cost_per_call_usd,
       round(latency_p50_ms, 1) AS p50_ms, round(latency_p95_ms, 1) AS p95_ms
FROM call_stats
WHERE run_id = (SELECT run_id FROM latest_run) AND stage = 'judge'
ORDER BY cost_usd DESC, judge;

-- name: error_kinds_per_model
-- title: Error kinds per model
-- Failed calls by model and error kind, with one example message.
SELECT name AS model, role, error_kind, count(*) AS failed_calls, count(DISTINCT item_id) AS items,
       min(error_message) AS example_message
FROM calls
WHERE run_id = (SELECT run_id FROM latest_run) AND status = 'error'
GROUP BY name, role, error_kind
ORDER BY failed_calls DESC, model, error_kind;

-- name: slowest_calls
-- title: Slowest model calls
SELECT stage, name AS model, item_id, attempt, status, round(latency_ms, 1) AS latency_ms, started_at
FROM calls
WHERE run_id = (SELECT run_id FROM latest_run)
ORDER BY latency_ms DESC NULLS LAST, call_id
LIMIT 10;

-- name: over_deflection_by_hazard
-- title: Over-deflection on safe prompts by hazard and target
-- Safe prompts that were refused, deflected or blocked (as the policy says), per hazard.
SELECT l1 AS hazard, target, judge, n_scored, over_deflections,
       round(100 * over_deflection_rate, 1) AS over_deflection_pct,
       refusal, safe_deflection, blocked, errors
FROM metrics
WHERE run_id = (SELECT run_id FROM latest_run) AND intent = 'safe' AND level = 'l1'
ORDER BY over_deflection_rate DESC NULLS LAST, hazard, target, judge;

-- name: targets_side_by_side
-- title: Violation rate per hazard, targets side by side
-- One column per target (DuckDB PIVOT), numbers from the run's first judge by name.
PIVOT (
    SELECT l1 AS hazard, target, round(100 * violation_rate, 1) AS violation_pct
    FROM metrics
    WHERE run_id = (SELECT run_id FROM latest_run) AND intent = 'harmful' AND level = 'l1'
      AND judge = (SELECT min(name) FROM run_models
                   WHERE role = 'judge' AND run_id = (SELECT run_id FROM latest_run))
)
ON target USING first(violation_pct)
GROUP BY hazard
ORDER BY hazard;

-- name: violating_responses
-- title: Violating responses with the judge's rationale, for review
SELECT s.target, s.judge, s.prompt_id, s.taxonomy_path, s.intent, s.technique, s.tier,
       left(p.text, 120) AS prompt, left(r.text, 200) AS response, s.rationale
FROM scored s
JOIN responses r ON r.response_id = s.response_id
JOIN prompts p ON p.prompt_hash = s.prompt_hash
WHERE s.run_id = (SELECT run_id FROM latest_run) AND s.is_violation
ORDER BY s.target, s.prompt_id, s.judge
LIMIT 20;

-- name: rates_across_runs
-- title: Violation and over-deflection rates across runs
-- Every run, target and judge, oldest first: how the headline numbers move over time.
SELECT r.started_at, m.run_id, r.name, m.target, m.judge,
       round(100 * max(m.violation_rate) FILTER (WHERE m.intent = 'harmful'), 1) AS violation_pct,
       round(100 * max(m.over_deflection_rate) FILTER (WHERE m.intent = 'safe'), 1) AS over_deflection_pct,
       max(m.errors) FILTER (WHERE m.intent = 'all') AS errors,
       max(m.n) FILTER (WHERE m.intent = 'all') AS n
FROM metrics m
JOIN runs r ON r.run_id = m.run_id
WHERE m.level = 'overall'
GROUP BY r.started_at, m.run_id, r.name, m.target, m.judge
ORDER BY r.started_at, m.target, m.judge;
