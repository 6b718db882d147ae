-- Lookups by a row's owner, for `judge view`'s item page (and anything showing one answer): a
-- response's verdicts and each item's model calls, found through an index instead of a scan of
-- the whole table (at 1,000,000 verdicts and 1.5 million calls: 10–25 ms instead of 100–300 ms).
-- Inserts (also INSERT … ON CONFLICT) keep them up to date; they cost about a third more file size.
CREATE INDEX IF NOT EXISTS verdicts_response ON verdicts (response_id);
CREATE INDEX IF NOT EXISTS model_calls_item ON model_calls (item_id);
