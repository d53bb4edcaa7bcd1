-- 002: a match's record, the game's own (match.Result.Record): chess keeps
-- its moves, PGN and final position there. NULL for a game that keeps
-- none (the arena) and for the matches archived before this migration.
-- jsonb, so that the archive can be queried by what the games record; it
-- keeps the value, not the bytes (keys reordered, whitespace dropped).

ALTER TABLE matches ADD COLUMN record jsonb;

---- create above / drop below ----

ALTER TABLE matches DROP COLUMN record;
