-- The index on verdicts.cache_key is dropped: the one query that reads by cache key (reusable
-- verdicts, judge/store/pending.py) matches a list of keys with `IN (SELECT unnest(?))`, a hash
-- join that scans the column whether or not the index exists (measured on 1,000,000 verdicts:
-- the same time with and without it, for 1, 64 and 1,000 keys). The index only cost size (an ART
-- of a million random 40-character keys, rewritten at every checkpoint) and time on every insert.
-- The viewer's lookup indexes (migration 015) are kept: they serve point lookups.
DROP INDEX IF EXISTS verdicts_cache_key;
