-- Journal tokens: a journal segment replays only into the database (and run) that issued its token.
-- Only the SHA-256 of each token is stored here; the token itself lives in the journal's headers.
CREATE TABLE journal_tokens (
    token_sha256 VARCHAR PRIMARY KEY,
    run_id VARCHAR,                   -- the run whose rows the journal holds (NULL until bound)
    pid INTEGER,                      -- the writing process
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP               -- set once everything it journaled is committed (or replayed)
);
