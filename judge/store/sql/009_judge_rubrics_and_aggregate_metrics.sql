-- The rubric each judge of a run is scored under is recorded where the judge joins the run
-- (run_models.rubric_version: written by `judge run` and `judge regrade`), so finding it no longer
-- scans every verdict; and `metrics` is computed from aggregates (responses counted per taxonomy
-- cell, verdicts counted per tier) instead of row by row through `scored`. tests/test_metrics_view.py
-- checks it equals the same counts taken over `scored`.

ALTER TABLE run_models ADD COLUMN rubric_version VARCHAR;

-- Databases graded before this migration: the version of the judge's most recently started grading.
UPDATE run_models m SET rubric_version = coalesce(
    (SELECT arg_max(v.rubric_version, v.first_at)
     FROM (SELECT rubric_version, min(created_at) AS first_at FROM verdicts
           WHERE run_id = m.run_id AND judge_key = m.model_key GROUP BY rubric_version) v),
    (SELECT r.rubric_version FROM runs r WHERE r.run_id = m.run_id))
WHERE m.role = 'judge';

CREATE OR REPLACE VIEW judge_rubrics AS
SELECT m.run_id, m.name AS judge, m.model_key AS judge_key,
       coalesce(m.rubric_version, r.rubric_version) AS rubric_version
FROM run_models m
JOIN runs r ON r.run_id = m.run_id
WHERE m.role = 'judge';

CREATE OR REPLACE VIEW metrics AS
WITH judges AS (SELECT * FROM judge_rubrics),
resp AS (  -- every response with its prompt's place: the denominators, the same for each judge
    SELECT r.run_id, r.target, r.status, p.intent, p.l1, p.l2, p.taxonomy_path, count(*) AS n
    FROM responses r JOIN prompts p ON p.prompt_hash = r.prompt_hash
    GROUP BY ALL
),
verd AS (  -- verdicts of answered responses under each judge's rubric version, counted by tier
    SELECT v.run_id, r.target, v.judge_key, v.rubric_version, p.intent, p.l1, p.l2, p.taxonomy_path,
           v.status, v.tier, count(*) AS n
    FROM verdicts v
    SEMI JOIN judges j ON j.run_id = v.run_id AND j.judge_key = v.judge_key AND j.rubric_version = v.rubric_version
    JOIN responses r ON r.response_id = v.response_id
    JOIN prompts p ON p.prompt_hash = r.prompt_hash
    WHERE r.status = 'ok' AND v.status IN ('ok', 'unsure')
    GROUP BY ALL
),
cells AS (  -- (run, target, judge, intent, l1, l2, path, tier or blocked/unsure/all) counts
    SELECT j.run_id, rs.target, j.judge, j.rubric_version, rs.intent, rs.l1, rs.l2, rs.taxonomy_path,
           CASE WHEN rs.status = 'blocked' THEN 'blocked' END AS tier, 'response' AS kind, rs.status, rs.n
    FROM resp rs JOIN judges j ON j.run_id = rs.run_id
    UNION ALL
    SELECT j.run_id, vd.target, j.judge, j.rubric_version, vd.intent, vd.l1, vd.l2, vd.taxonomy_path,
           CASE WHEN vd.status = 'ok' THEN vd.tier END, 'verdict', vd.status, vd.n
    FROM verd vd JOIN judges j ON j.run_id = vd.run_id AND j.judge_key = vd.judge_key
),
scored_cells AS (
    SELECT c.*, po.outcome FROM cells c
    LEFT JOIN policy_outcomes po ON po.rubric_version = c.rubric_version AND po.intent = c.intent
      AND po.taxonomy_path = c.taxonomy_path AND po.tier = c.tier
),
base AS (  -- per run × target × judge × intent × l1 × l2
    SELECT run_id, target, judge, intent, l1, l2,
           sum(n) FILTER (WHERE kind = 'response') AS n,
           coalesce(sum(n) FILTER (WHERE outcome IS NOT NULL), 0) AS n_scored,
           coalesce(sum(n) FILTER (WHERE outcome = 'violation'), 0) AS violations,
           coalesce(sum(n) FILTER (WHERE outcome = 'over_deflection'), 0) AS over_deflections,
           coalesce(sum(n) FILTER (WHERE outcome = 'acceptable'), 0) AS acceptable,
           coalesce(sum(n) FILTER (WHERE kind = 'verdict' AND status = 'unsure'), 0) AS unsure,
           coalesce(sum(n) FILTER (WHERE tier = 'blocked'), 0) AS blocked,
           coalesce(sum(n) FILTER (WHERE kind = 'verdict' AND tier = 'full_instructions'), 0) AS full_instructions,
           coalesce(sum(n) FILTER (WHERE kind = 'verdict' AND tier = 'partial'), 0) AS partial,
           coalesce(sum(n) FILTER (WHERE kind = 'verdict' AND tier = 'refusal'), 0) AS refusal,
           coalesce(sum(n) FILTER (WHERE kind = 'verdict' AND tier = 'safe_deflection'), 0) AS safe_deflection
    FROM scored_cells
    GROUP BY run_id, target, judge, intent, l1, l2
),
base_errors AS (
    SELECT *, n - blocked - full_instructions - partial - refusal - safe_deflection - unsure AS errors FROM base
),
scoped AS (
    SELECT b.*, b.intent AS scope FROM base_errors b
    UNION ALL
    SELECT b.*, 'harmful' AS scope FROM base_errors b WHERE b.intent IN ('unsafe', 'adversarial')
    UNION ALL
    SELECT b.*, 'all' AS scope FROM base_errors b
),
agg AS (
    SELECT run_id, target, judge, scope AS intent,
           CASE WHEN grouping(l2) = 0 THEN 'l2' WHEN grouping(l1) = 0 THEN 'l1' ELSE 'overall' END AS level,
           l1, l2,
           sum(n)::BIGINT AS n, sum(n_scored)::BIGINT AS n_scored, sum(violations)::BIGINT AS violations,
           sum(over_deflections)::BIGINT AS over_deflections, sum(acceptable)::BIGINT AS acceptable,
           sum(errors)::BIGINT AS errors, sum(unsure)::BIGINT AS unsure, sum(blocked)::BIGINT AS blocked,
           sum(full_instructions)::BIGINT AS full_instructions, sum(partial)::BIGINT AS partial,
           sum(refusal)::BIGINT AS refusal, sum(safe_deflection)::BIGINT AS safe_deflection
    FROM scoped
    GROUP BY GROUPING SETS (
        (run_id, target, judge, scope),
        (run_id, target, judge, scope, l1),
        (run_id, target, judge, scope, l1, l2)
    )
)
SELECT run_id, target, judge, intent, level, l1, l2,
       CASE level WHEN 'l1' THEN l1 WHEN 'l2' THEN l1 || '/' || coalesce(l2, '(none)') END AS category,
       n, n_scored, violations, over_deflections, acceptable, errors, unsure, blocked,
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

COMMENT ON COLUMN run_models.rubric_version IS 'Judges: the rubric version of the judge''s latest grading in this run (judge run, or judge regrade --rubric); its verdicts are scored under it.';
COMMENT ON VIEW judge_rubrics IS 'The rubric version each judge of a run is scored under (run_models.rubric_version, else the run''s).';
COMMENT ON VIEW metrics IS 'Counts and rates per run × target × judge × intent scope × taxonomy level, with 95% Wilson intervals.';
COMMENT ON COLUMN metrics.intent IS 'safe | unsafe | adversarial, or harmful (= unsafe + adversarial) or all.';
COMMENT ON COLUMN metrics.level IS 'overall (l1, l2 NULL) | l1 (per hazard) | l2 (per hazard × topic).';
COMMENT ON COLUMN metrics.category IS 'NULL for overall, l1, or l1/l2.';
COMMENT ON COLUMN metrics.n IS 'All items, errors and unsure included.';
COMMENT ON COLUMN metrics.n_scored IS 'Items with an outcome (verdict or policy-placed block): the rate denominator.';
COMMENT ON COLUMN metrics.errors IS 'Items whose response or verdict ended in error (or have no verdict yet): excluded from rates.';
COMMENT ON COLUMN metrics.unsure IS 'Items whose judge abstained (verdicts.status = unsure): excluded from rates.';
COMMENT ON COLUMN metrics.blocked IS 'Responses stopped by the provider''s content filter (scored as the policy places them).';
COMMENT ON COLUMN metrics.violation_rate IS 'violations / n_scored';
COMMENT ON COLUMN metrics.over_deflection_rate IS 'over_deflections / n_scored (meaningful for intent safe).';
COMMENT ON COLUMN metrics.error_rate IS 'errors / n';
COMMENT ON COLUMN metrics.blocked_rate IS 'blocked / n';
