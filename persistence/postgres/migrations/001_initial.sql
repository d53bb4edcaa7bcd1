-- 001: the archive of SPEC §6. Every table lives in the schema that
-- search_path names (Config.Schema); nothing here names a schema.
--
-- The constraints are the archive's last line of defence: a row that breaks
-- one fails the whole batch, so nothing is ever half-written.
-- IDs and modes are opaque strings compared bytewise (COLLATE "C"): that is
-- how Go orders them (leaderboard ties), and it is several times cheaper for
-- the B-tree lookups of every insert than a linguistic collation.
-- Unsigned 32-bit counters of the game (ticks, entity IDs, scores) are bigint
-- with a range check, since integer cannot hold them all.

CREATE TABLE players (
    id         text COLLATE "C" PRIMARY KEY,
    name       text             NOT NULL CHECK (char_length(name) BETWEEN 1 AND 32),
    created_at timestamptz      NOT NULL
);

-- One row per player and mode: the rating after the newest settled match.
CREATE TABLE ratings (
    player_id  text COLLATE "C" NOT NULL REFERENCES players (id),
    mode       text COLLATE "C" NOT NULL,
    rating     double precision NOT NULL CHECK (rating > '-Infinity' AND rating < 'Infinity'),
    rd         double precision NOT NULL CHECK (rd >= 0 AND rd < 'Infinity'),
    volatility double precision NOT NULL CHECK (volatility >= 0 AND volatility < 'Infinity'),
    games      integer          NOT NULL CHECK (games >= 0),
    wins       integer          NOT NULL CHECK (wins >= 0),
    losses     integer          NOT NULL CHECK (losses >= 0),
    draws      integer          NOT NULL CHECK (draws >= 0),
    updated_at timestamptz      NOT NULL,
    PRIMARY KEY (player_id, mode),
    CONSTRAINT ratings_record CHECK (wins + losses + draws = games)
);

-- Leaderboard: best first, ties by lower player ID (an index-only walk).
CREATE INDEX ratings_leaderboard ON ratings (mode, rating DESC, player_id);

CREATE TABLE matches (
    id         text COLLATE "C" PRIMARY KEY,
    mode       text COLLATE "C" NOT NULL,
    aborted    boolean          NOT NULL,
    reason     text             NOT NULL,
    created_at timestamptz      NOT NULL,
    started_at timestamptz,               -- NULL if the match never started
    ended_at   timestamptz      NOT NULL,
    ticks      bigint           NOT NULL CHECK (ticks BETWEEN 0 AND 4294967295)
);

-- No index on player_id: players are never deleted and no query looks a
-- player's matches up yet; each index costs every archived row.
CREATE TABLE match_players (
    match_id      text COLLATE "C" NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    seat          smallint         NOT NULL CHECK (seat >= 0),
    player_id     text COLLATE "C" NOT NULL REFERENCES players (id),
    entity        bigint           NOT NULL CHECK (entity BETWEEN 0 AND 4294967295),
    score         bigint           NOT NULL CHECK (score BETWEEN 0 AND 4294967295),
    placement     integer          NOT NULL CHECK (placement >= 1),
    forfeit       boolean          NOT NULL,
    rating_before double precision NOT NULL,
    rating_after  double precision NOT NULL,
    PRIMARY KEY (match_id, seat),
    UNIQUE (match_id, player_id)
);

-- One row per rated player of a settled, not aborted match.
CREATE TABLE rating_history (
    match_id      text COLLATE "C" NOT NULL,
    player_id     text COLLATE "C" NOT NULL,
    mode          text COLLATE "C" NOT NULL,
    rating_before double precision NOT NULL,
    rating_after  double precision NOT NULL,
    rd            double precision NOT NULL,
    volatility    double precision NOT NULL,
    games         integer          NOT NULL CHECK (games >= 0),
    recorded_at   timestamptz      NOT NULL,
    PRIMARY KEY (match_id, player_id),
    FOREIGN KEY (match_id, player_id) REFERENCES match_players (match_id, player_id) ON DELETE CASCADE
);

-- match_id has no foreign key: a player is kicked while the match runs,
-- long before its result is archived.
CREATE TABLE anticheat_events (
    id         bigserial        PRIMARY KEY,
    match_id   text COLLATE "C" NOT NULL,
    player_id  text COLLATE "C" NOT NULL REFERENCES players (id),
    mode       text COLLATE "C" NOT NULL,
    tick       bigint           NOT NULL CHECK (tick BETWEEN 0 AND 4294967295),
    at         timestamptz      NOT NULL,
    action     text COLLATE "C" NOT NULL,
    violations jsonb            CHECK (jsonb_typeof(violations) = 'object'), -- NULL when none were given
    UNIQUE (match_id, player_id, tick, action)
);

CREATE INDEX anticheat_events_player ON anticheat_events (player_id, at, id);

---- create above / drop below ----

DROP TABLE anticheat_events;
DROP TABLE rating_history;
DROP TABLE match_players;
DROP TABLE matches;
DROP TABLE ratings;
DROP TABLE players;
