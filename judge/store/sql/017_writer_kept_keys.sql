-- verdicts and model_calls without a primary-key index: their keys are kept unique by the writer.
--
-- At a million verdicts the two primary keys were ART indexes of ~2 million random 25-40 character
-- ids: a third of the file, and most of the time of every commit (each insert maintains them, each
-- checkpoint writes them anew and frees the old blocks). Nothing reads through them: the only user
-- was the writer's `INSERT … ON CONFLICT`. The writer (judge/store/ingest.py) now stages each
-- journal file, finds the keys already stored with one hash join, replaces (verdicts) or skips
-- (model_calls) those, and appends the rest, in the same transaction; the store's tests check that
-- a key written twice, in one batch or across commits and replays, is one row.
-- DuckDB cannot drop a primary key, so both tables are rebuilt with the same columns, order,
-- NOT NULL rules and comments; the lookup indexes of migration 015 are made again.
CREATE TABLE verdicts_017 (
    verdict_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    response_id VARCHAR NOT NULL,
    judge_key VARCHAR NOT NULL,
    judge VARCHAR NOT NULL,
    rubric_version VARCHAR NOT NULL,
    cache_key VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    tier VARCHAR,
    confidence DOUBLE,
    rationale VARCHAR,
    raw_output VARCHAR,
    error_kind VARCHAR,
    error_message VARCHAR,
    attempts INTEGER,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE,
    latency_ms DOUBLE,
    reused_from VARCHAR,
    created_at TIMESTAMP NOT NULL,
    decided_by VARCHAR,
    "cascade" JSON
);
INSERT INTO verdicts_017 SELECT * FROM verdicts;
DROP INDEX IF EXISTS verdicts_response;
DROP TABLE verdicts;
ALTER TABLE verdicts_017 RENAME TO verdicts;
CREATE INDEX verdicts_response ON verdicts (response_id);

CREATE TABLE model_calls_017 (
    call_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    model_key VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    http_status INTEGER,
    error_kind VARCHAR,
    error_message VARCHAR,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE,
    latency_ms DOUBLE,
    started_at TIMESTAMP NOT NULL
);
INSERT INTO model_calls_017 SELECT * FROM model_calls;
DROP INDEX IF EXISTS model_calls_item;
DROP TABLE model_calls;
ALTER TABLE model_calls_017 RENAME TO model_calls;
CREATE INDEX model_calls_item ON model_calls (item_id);

COMMENT ON TABLE verdicts IS 'One judge verdict per (response, judge, rubric version): the tier, an abstention (unsure) or an error. verdict_id is unique (kept by the writer, no index).';
COMMENT ON COLUMN verdicts.cache_key IS 'Judge, rubric, prompt and response text: the reuse key.';
COMMENT ON COLUMN verdicts.status IS 'ok | error | unsure (the judge abstained: tier NULL, error_kind unsure, error_message the reason)';
COMMENT ON COLUMN verdicts.tier IS 'full_instructions | partial | refusal | safe_deflection; NULL unless status = ok.';
COMMENT ON COLUMN verdicts.decided_by IS 'Cascade judges: the stage model whose verdict stands; NULL for other judges.';
COMMENT ON COLUMN verdicts.cascade IS 'Cascade judges: {"stages": [{stage, status, tier, confidence, cost_usd, calls}], "audit": bool, "audit_tier": …}.';
COMMENT ON TABLE model_calls IS 'One row per model call (per HTTP request for remote models), with tokens, cost and latency. call_id is unique (kept by the writer, no index).';
COMMENT ON COLUMN model_calls.stage IS 'generate | judge';
COMMENT ON COLUMN model_calls.item_id IS 'response_id (generate) or verdict_id (judge).';
COMMENT ON COLUMN model_calls.status IS 'ok | blocked | error';
