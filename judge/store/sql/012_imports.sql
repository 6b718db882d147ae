-- Answers imported from other tools (`judge import`): one row per import, keyed by content and options,
-- so importing the same files again adds nothing and a changed file is compared with its last import.
CREATE TABLE imports (
    import_key VARCHAR PRIMARY KEY,   -- hash of the files' contents, the import options and the rubric
    run_id VARCHAR NOT NULL,          -- the run the import created
    source_kind VARCHAR NOT NULL,     -- inspect | promptfoo | table
    source_ids JSON NOT NULL,         -- each file's identity across versions (Inspect eval_id, promptfoo evalId, else its path)
    files JSON NOT NULL,              -- [{path, sha256, info}] (tool versions, task, model)
    options JSON,                     -- mapping file, column mapping, score map
    items INTEGER NOT NULL,           -- answers imported
    imported_at TIMESTAMP NOT NULL
);
-- Where an imported model came from (inspect | promptfoo | table): targets whose answers were imported
-- and external judges (another tool's scorer). NULL for models judge calls itself.
ALTER TABLE models ADD COLUMN imported_from VARCHAR;
