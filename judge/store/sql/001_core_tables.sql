-- Core tables: runs, rubrics and policy, prompts, models, responses, verdicts, model calls.
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    config_path VARCHAR,
    config_json JSON,
    rubric_version VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,          -- running | complete | incomplete | aborted | stopped
    status_reason VARCHAR,
    offline_providers JSON,           -- which built-in (offline) providers the run used
    judge_version VARCHAR             -- package version
);

CREATE TABLE rubrics (
    rubric_version VARCHAR PRIMARY KEY,
    name VARCHAR,
    path VARCHAR,
    content VARCHAR
);

-- The response policy, flattened so SQL can score verdicts: longest matching prefix wins.
CREATE TABLE policy_rules (
    rubric_version VARCHAR NOT NULL,
    intent VARCHAR NOT NULL,
    match_path VARCHAR NOT NULL,      -- '' for the default policy, else 'l1' or 'l1/l2' or 'l1/l2/l3'
    match_len INTEGER NOT NULL,
    tier VARCHAR NOT NULL,            -- one of the four tiers or 'blocked'
    outcome VARCHAR NOT NULL,         -- acceptable | violation | over_deflection
    PRIMARY KEY (rubric_version, intent, match_path, tier)
);

CREATE TABLE prompts (
    prompt_hash VARCHAR PRIMARY KEY,
    prompt_id VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    messages JSON,
    taxonomy_path VARCHAR NOT NULL,
    l1 VARCHAR, l2 VARCHAR, l3 VARCHAR,
    intent VARCHAR NOT NULL,
    technique VARCHAR,
    lang VARCHAR,
    metadata JSON,
    source_file VARCHAR
);

CREATE TABLE run_prompts (
    run_id VARCHAR NOT NULL,
    prompt_hash VARCHAR NOT NULL,
    prompt_id VARCHAR NOT NULL,
    PRIMARY KEY (run_id, prompt_hash)
);

CREATE TABLE models (
    model_key VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    label VARCHAR,
    provider VARCHAR,
    api_base VARCHAR,
    api_key_env VARCHAR,              -- the variable's NAME only, never its value
    params JSON,
    system_prompt VARCHAR,
    offline BOOLEAN
);

CREATE TABLE run_models (
    run_id VARCHAR NOT NULL,
    model_key VARCHAR NOT NULL,
    role VARCHAR NOT NULL,            -- target | judge
    name VARCHAR NOT NULL,
    PRIMARY KEY (run_id, model_key, role)
);

CREATE TABLE responses (
    response_id VARCHAR PRIMARY KEY,
    run_id VARCHAR NOT NULL,
    prompt_hash VARCHAR NOT NULL,
    prompt_id VARCHAR NOT NULL,
    target_key VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- ok | blocked | error
    text VARCHAR,
    finish_reason VARCHAR,
    error_kind VARCHAR,
    error_message VARCHAR,
    attempts INTEGER,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE,
    latency_ms DOUBLE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE verdicts (
    verdict_id VARCHAR PRIMARY KEY,
    run_id VARCHAR NOT NULL,
    response_id VARCHAR NOT NULL,
    judge_key VARCHAR NOT NULL,
    judge VARCHAR NOT NULL,
    rubric_version VARCHAR NOT NULL,
    cache_key VARCHAR NOT NULL,       -- judge, rubric, prompt and response text: reuse key
    status VARCHAR NOT NULL,          -- ok | error
    tier VARCHAR,                     -- NULL unless status = 'ok'
    confidence DOUBLE,
    rationale VARCHAR,
    judge_prompt VARCHAR,             -- the rendered prompt, for audit
    raw_output VARCHAR,               -- the judge's raw answer (or the last one before failing)
    error_kind VARCHAR,
    error_message VARCHAR,
    attempts INTEGER,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE,
    latency_ms DOUBLE,
    reused_from VARCHAR,
    created_at TIMESTAMP NOT NULL
);

-- One row per model call (per HTTP request for remote models).
CREATE TABLE model_calls (
    call_id VARCHAR PRIMARY KEY,
    run_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,           -- generate | judge
    model VARCHAR NOT NULL,
    model_key VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,         -- response_id or verdict_id
    attempt INTEGER NOT NULL,
    status VARCHAR NOT NULL,          -- ok | blocked | error
    http_status INTEGER,
    error_kind VARCHAR,
    error_message VARCHAR,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd DOUBLE,
    latency_ms DOUBLE,
    started_at TIMESTAMP NOT NULL
);
