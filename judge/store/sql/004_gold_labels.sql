-- Gold labels: human (or reference) labels for responses, grouped in named label sets.
-- A label names its response by response_id (labelled from a run) or by prompt_id + the sha256 of
-- the response text (labelled elsewhere; the text itself is not stored here).
CREATE TABLE gold_labels (
    label_set VARCHAR NOT NULL,
    item_key VARCHAR NOT NULL,        -- response_id, else 'prompt_id#response_text_hash'
    prompt_id VARCHAR NOT NULL,
    response_id VARCHAR,
    prompt_hash VARCHAR,
    response_text_hash VARCHAR,       -- sha256 hex of the response text (UTF-8)
    tier VARCHAR,                     -- one of the four tiers, or NULL for a binary-only label
    binary_label VARCHAR,             -- comply | refuse (implied by the tier when there is one)
    annotator VARCHAR NOT NULL,
    labeled_at TIMESTAMP NOT NULL,
    source_file VARCHAR,              -- imported file, or 'run:RUN_ID' for `judge label`
    note VARCHAR,
    PRIMARY KEY (label_set, item_key, annotator)
);
