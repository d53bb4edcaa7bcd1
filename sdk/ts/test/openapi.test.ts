// The REST client's types held to the server's OpenAPI document
// (match/api/openapi.json): every field, and which are required. Each
// Shape below is checked by the compiler against its TypeScript type (every
// field listed, true exactly where the type requires it), and by this test
// against the document's schema, so that neither can drift unnoticed.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import type { Guest, Leaderboard, LeaderboardEntry, Match, MatchPlayerResult, MatchResult, Player, Rating, Ticket } from "../src/rest.js";

// Shape<T> lists T's fields, each true if T requires it, false if optional.
type Shape<T> = { [K in keyof T]-?: object extends Pick<T, K> ? false : true };

const shapes: Record<string, Record<string, boolean>> = {
  GuestResponse: { player_id: true, token: true } satisfies Shape<Guest>,
  Rating: { rating: true, rd: false, volatility: false, games: true, wins: true, losses: true, draws: true } satisfies Shape<Rating>,
  Player: { player_id: true, name: true, ratings: true } satisfies Shape<Player>,
  Ticket: { ticket_id: true, status: true, match_id: false, ws_url: false, join_token: false } satisfies Shape<Ticket>,
  Match: {
    match_id: true,
    mode: true,
    status: true,
    players: true,
    created_at: true,
    ws_url: false,
    join_token: false,
    result: false,
    record: false,
  } satisfies Shape<Match>,
  MatchResult: { reason: true, ended_at: true, players: true } satisfies Shape<MatchResult>,
  PlayerResult: { player_id: true, score: true, placement: true, forfeit: true, rating_before: false, rating_after: false } satisfies Shape<MatchPlayerResult>,
  Leaderboard: { mode: true, entries: true } satisfies Shape<Leaderboard>,
  LeaderboardEntry: {
    rank: true,
    player_id: true,
    name: true,
    rating: true,
    games: true,
    wins: true,
    losses: true,
    draws: true,
  } satisfies Shape<LeaderboardEntry>,
};

interface Schema {
  properties?: Record<string, unknown>;
  required?: string[];
}

test("REST types: every field of the OpenAPI document, required where it requires", () => {
  const doc = JSON.parse(readFileSync(new URL("../../../../match/api/openapi.json", import.meta.url), "utf8")) as {
    components: { schemas: Record<string, Schema> };
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const schema = doc.components.schemas[name];
    assert.ok(schema !== undefined, `openapi.json has no schema ${name}`);
    const fields = Object.keys(shape);
    assert.deepEqual(fields.sort(), Object.keys(schema.properties ?? {}).sort(), `${name}: fields`);
    const required = fields.filter((f) => shape[f]);
    assert.deepEqual(required.sort(), [...(schema.required ?? [])].sort(), `${name}: required fields`);
  }
});

test("src/ imports nothing of Node: it runs in browsers", () => {
  const dir = new URL("../../src/", import.meta.url);
  const files: string[] = [];
  const walk = (d: URL) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        walk(new URL(`${e.name}/`, d));
      } else if (e.name.endsWith(".ts")) {
        files.push(new URL(e.name, d).pathname);
      }
    }
  };
  walk(dir);
  assert.ok(files.length >= 8, `found ${files.length} sources: the test is not testing`);
  for (const f of files) {
    const src = readFileSync(f, "utf8");
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      const spec = m[1]!;
      assert.ok(spec.startsWith(".") || spec.startsWith("@bufbuild/protobuf"), `${f} imports ${spec}: src/ may import only itself and @bufbuild/protobuf`);
    }
    assert.doesNotMatch(src, /\b(process\.|Buffer\.|require\()/, `${f} uses Node's globals`);
  }
});
