-- Journal tokens: a journal segment replays only into the database (and run) that issued its token.
-- Only the SHA-256 of each token is stored here; the token itself lives in the journal's headers.
CREATE TABLE journal_tokens (
    token_sha256 VARCHAR PRIMARY KEY,
    run_id VARCHAR,                   -- the run whose rows the journal holds (NULL until bound)
    pid INTEGER,                      -- the writing process
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP               -- set once everything it journaled is committed (or replayed)
);
COMMENT ON TABLE journal_tokens IS 'One row per writing process: the SHA-256 of the random token in its journal headers. A journal segment replays only if its token is here, still open, and bound to the segment''s run.';
COMMENT ON COLUMN journal_tokens.token_sha256 IS 'SHA-256 of the token (the token itself is only in the journal, never in the database).';
COMMENT ON COLUMN journal_tokens.run_id IS 'The run the journal belongs to (NULL until the writer is bound to a run).';
COMMENT ON COLUMN journal_tokens.pid IS 'The process id of the writer.';
COMMENT ON COLUMN journal_tokens.opened_at IS 'When the writer opened the database.';
COMMENT ON COLUMN journal_tokens.closed_at IS 'When everything it journaled was committed (a closed token''s journal is never replayed).';
