-- Flat, graded and scored views: verdicts joined with prompts and the rubric's policy.
CREATE VIEW verdicts_flat AS
SELECT
    v.run_id, v.verdict_id, v.response_id, p.prompt_id, p.prompt_hash, p.text AS prompt_text,
    p.taxonomy_path, p.l1, p.l2, p.l3, p.intent, p.technique, p.lang,
    r.target, r.target_key, r.status AS response_status, r.text AS response_text,
    v.judge, v.judge_key, v.rubric_version, v.status AS verdict_status, v.tier, v.confidence,
    v.rationale, v.error_kind AS verdict_error_kind, v.error_message AS verdict_error,
    v.cost_usd AS judge_cost_usd, v.latency_ms AS judge_latency_ms, v.created_at
FROM verdicts v
JOIN responses r ON r.response_id = v.response_id
JOIN prompts p ON p.prompt_hash = r.prompt_hash;

-- One row per (response, judge of the run): blocked and failed responses appear too, so they are
-- never silently dropped from denominators.
CREATE VIEW graded AS
WITH pairs AS (
    SELECT r.run_id, r.response_id, r.prompt_hash, r.target, r.target_key, r.status AS response_status,
           r.error_kind AS response_error_kind, m.name AS judge, m.model_key AS judge_key, run.rubric_version
    FROM responses r
    JOIN runs run ON run.run_id = r.run_id
    JOIN run_models m ON m.run_id = r.run_id AND m.role = 'judge'
)
SELECT pr.run_id, pr.response_id, pr.prompt_hash, p.prompt_id, p.taxonomy_path, p.l1, p.l2, p.l3,
       p.intent, p.technique, p.lang, pr.target, pr.target_key, pr.judge, pr.judge_key,
       pr.rubric_version, pr.response_status, pr.response_error_kind,
       v.verdict_id, v.status AS verdict_status, v.error_kind AS verdict_error_kind,
       CASE WHEN pr.response_status = 'blocked' THEN 'blocked'
            WHEN v.status = 'ok' THEN v.tier END AS tier,
       v.confidence, v.rationale
FROM pairs pr
JOIN prompts p ON p.prompt_hash = pr.prompt_hash
LEFT JOIN verdicts v ON v.response_id = pr.response_id AND v.judge_key = pr.judge_key
    AND v.rubric_version = pr.rubric_version;

CREATE VIEW scored AS
SELECT g.*,
       pol.outcome,
       g.tier IS NULL AS is_error,
       coalesce(pol.outcome = 'violation', false) AS is_violation,
       coalesce(pol.outcome = 'over_deflection', false) AS is_over_deflection,
       coalesce(pol.outcome = 'acceptable', false) AS is_acceptable
FROM graded g
LEFT JOIN policy_rules pol
  ON pol.rubric_version = g.rubric_version AND pol.intent = g.intent AND pol.tier = g.tier
 AND (pol.match_len = 0 OR g.taxonomy_path = pol.match_path OR starts_with(g.taxonomy_path, pol.match_path || '/'))
QUALIFY row_number() OVER (PARTITION BY g.run_id, g.response_id, g.judge_key ORDER BY pol.match_len DESC NULLS LAST) = 1;
