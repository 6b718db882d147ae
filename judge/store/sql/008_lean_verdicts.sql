-- Lean verdicts: the rendered judge prompt is no longer stored with every verdict (it was most of
-- the database: ~2.7 KB per verdict, the response text repeated once per judge). The rubric file's
-- content is stored once per rubric version (rubrics.content), and the exact prompt is rebuilt on
-- demand from it, the prompt and the response (judge.store.audit.judge_prompt, `judge show VERDICT_ID`).
-- DuckDB cannot drop a column an index depends on, so the reuse index is dropped and made again.
DROP INDEX IF EXISTS verdicts_cache_key;
ALTER TABLE verdicts DROP COLUMN judge_prompt;
CREATE INDEX verdicts_cache_key ON verdicts (cache_key);
COMMENT ON TABLE rubrics IS 'Each rubric version used, with the rubric file''s content: the judge prompt template, stored once (judge show VERDICT_ID rebuilds a verdict''s exact prompt from it).';
COMMENT ON TABLE verdicts IS 'One judge verdict per (response, judge, rubric version): the tier, an abstention (unsure) or an error.';
