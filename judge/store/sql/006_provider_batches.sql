-- Provider batch jobs (OpenAI Batch API, Anthropic Message Batches): written right after submission,
-- so a restarted run polls the batch it already paid for instead of submitting the items again.
CREATE TABLE provider_batches (
    batch_id VARCHAR PRIMARY KEY,     -- the provider's id (batch_… / msgbatch_…)
    run_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,           -- generate | judge
    model_key VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,        -- openai | anthropic
    status VARCHAR NOT NULL,          -- the provider's last reported status (validating, in_progress, ended, …)
    item_ids JSON NOT NULL,           -- response_ids (generate) or verdict_ids (judge) = the requests' custom_id
    n_items INTEGER NOT NULL,
    input_file_id VARCHAR,            -- OpenAI: the uploaded JSONL
    output_file_id VARCHAR,
    error_file_id VARCHAR,
    submitted_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,            -- set once the results are stored; NULL = still to poll / collect
    error VARCHAR
);
COMMENT ON TABLE provider_batches IS 'Batch jobs submitted to provider batch APIs; unfinished ones are polled again after a restart.';
COMMENT ON COLUMN provider_batches.finished_at IS 'Set once the batch''s results are stored; NULL means the batch is still polled or collected.';
