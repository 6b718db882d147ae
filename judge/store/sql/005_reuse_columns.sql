-- Incremental runs: where a reused response came from; an index to find reusable verdicts.
ALTER TABLE responses ADD COLUMN reused_from VARCHAR;
CREATE INDEX verdicts_cache_key ON verdicts (cache_key);
