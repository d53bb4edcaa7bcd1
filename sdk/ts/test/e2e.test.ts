// Integration tests against a real Arbiter server at ARBITER_URL (cmd/arbiter's
// TestSDK starts one, with a short match duration, and runs these); skipped
// when it is unset. They play through the public API only, on the ws
// package's WebSocket.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import WebSocket from "ws";

import { ArenaView } from "../src/arena/index.js";
import { ChessGame, type ChessRefusal } from "../src/chess.js";
import {
  ClientMessageSchema,
  ServerMessageSchema,
  SnapshotEncoding,
  type MatchEnd,
  type Welcome,
} from "../src/gen/arbiter/v1/arbiter_pb.js";
import { RestClient, type ChessRecord } from "../src/rest.js";
import { Session, type SessionOptions, type WebSocketLike } from "../src/session.js";

const BASE = process.env["ARBITER_URL"];

// Wire is a WebSocketFactory on the ws package that keeps every socket,
// records the input seqs sent, in order, across them, and counts the
// snapshot frames received and their bytes, by kind.
class Wire {
  readonly sockets: WebSocket[] = [];
  readonly inputSeqs: number[] = [];
  readonly frames = { snapshot: 0, snapshotDelta: 0 };
  readonly bytes = { snapshot: 0, snapshotDelta: 0 };
  readonly factory = (url: string): WebSocketLike => {
    const ws = new WebSocket(url);
    this.sockets.push(ws);
    ws.on("message", (data: ArrayBuffer | Buffer, isBinary: boolean) => {
      if (!isBinary) {
        return;
      }
      const b = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const k = fromBinary(ServerMessageSchema, b).kind.case;
      if (k === "snapshot" || k === "snapshotDelta") {
        this.frames[k]++;
        this.bytes[k] += b.byteLength;
      }
    });
    const send = ws.send.bind(ws);
    ws.send = ((data: Uint8Array) => {
      const m = fromBinary(ClientMessageSchema, data);
      if (m.kind.case === "input") {
        this.inputSeqs.push(m.kind.value.seq);
      }
      send(data);
    }) as typeof ws.send;
    return ws as unknown as WebSocketLike;
  };
}

// Player is one guest with its REST client, ticket and session.
interface Player {
  rest: RestClient;
  playerId: string;
  ticketId: string;
  matchId: string;
  wsUrl: string;
  wire: Wire;
  session: Session;
}

// queue signs up one guest per name, queues them all in mode and waits
// until each is matched; the sessions are made, not connected.
async function queue(mode: string, names: string[], opts: SessionOptions = {}): Promise<Player[]> {
  const anon = new RestClient(BASE!);
  const guests = await Promise.all(names.map((n) => anon.createGuest(n)));
  const rests = guests.map((g) => anon.withToken(g.token));
  const tickets = await Promise.all(rests.map((r) => r.createTicket(mode)));
  const signal = AbortSignal.timeout(30_000);
  const matched = await Promise.all(rests.map((r, i) => r.awaitMatch(tickets[i]!.ticket_id, signal)));
  return matched.map((t, i) => {
    const wire = new Wire();
    const rest = rests[i]!;
    return {
      rest,
      playerId: guests[i]!.player_id,
      ticketId: t.ticket_id,
      matchId: t.match_id,
      wsUrl: t.ws_url,
      wire,
      session: new Session(t.ws_url, { webSocket: wire.factory, locate: rest.locator(t.match_id), ...opts }),
    };
  });
}

// frameLoop calls inputDue every ~7 ms (a 144 Hz game's frame loop) and
// sends one input when it is due, until the session ends: through view,
// which numbers and predicts it, if given.
function frameLoop(p: Player, controls: () => { moveX: number; moveY: number }, view?: () => ArenaView | undefined): () => void {
  const timer = setInterval(() => {
    const now = p.session.clock.now();
    if (p.session.inputDue(now) <= 0) {
      const v = view?.();
      p.session.sendInput(v !== undefined ? v.nextInput(controls(), now) : controls(), now);
    }
  }, 7);
  void p.session.closed.then(() => clearInterval(timer));
  return () => clearInterval(timer);
}

describe("against a real server", { skip: BASE === undefined ? "ARBITER_URL is unset" : false }, () => {
  // The duel runs in both encodings: delta snapshots (the default) and
  // full ones (SessionOptions.fullSnapshots).
  for (const full of [false, true]) {
    test(`a duel, both players' inputs paced, to MatchEnd, with ${full ? "full" : "delta"} snapshots`, { timeout: 60_000 }, async (t) => {
      const players = await queue("duel", full ? ["sdk-full-a", "sdk-full-b"] : ["sdk-a", "sdk-b"], full ? { fullSnapshots: true } : {});
      const snapshots = [0, 0];
      // What the snapshots handed over would take as full messages.
      let fullBytes = 0;
      players.forEach((p, i) => p.session.on("snapshot", () => snapshots[i]!++));
      players[0]!.session.on("snapshot", (snap) => {
        fullBytes += toBinary(ServerMessageSchema, create(ServerMessageSchema, { kind: { case: "snapshot", value: snap } })).byteLength;
      });
      // Player 0 predicts its entity and interpolates the other, as a game would.
      let view: ArenaView | undefined;
      players[0]!.session.on("welcome", (w) => (view = new ArenaView(w, players[0]!.session.clock.now(), view !== undefined ? { resumeFrom: view } : {})));
      players[0]!.session.on("snapshot", (snap, at) => view!.snapshot(snap, at));
      const welcomes = await Promise.all(players.map((p) => p.session.connect()));
      assert.notEqual(welcomes[0]!.entityId, welcomes[1]!.entityId);
      assert.equal(welcomes[0]!.matchId, players[0]!.matchId);
      for (const w of welcomes) {
        assert.equal(w.snapshots, full ? SnapshotEncoding.FULL : SnapshotEncoding.DELTA, "the Welcome's encoding");
      }

      // One player sends from a 144 Hz frame loop, the other with runInputs:
      // both send one input per tick.
      let angle = 0;
      frameLoop(
        players[0]!,
        () => {
          angle += 0.05; // round and round: an analog stick's unit vector
          return { moveX: 1000 * Math.cos(angle), moveY: 1000 * Math.sin(angle) };
        },
        () => view,
      );
      const run = players[1]!.session.runInputs(() => ({ moveX: -1000, moveY: 0 }));

      const ends = await Promise.all(players.map((p) => p.session.closed));
      await run;
      for (const [i, end] of ends.entries()) {
        assert.equal(end.close.code, 1000, `player ${i}: close code`);
        assert.equal(end.close.reason, "match_over", `player ${i}: close reason`);
        assert.equal(end.matchEnd?.results.length, 2, `player ${i}: MatchEnd results`);
        const sent = players[i]!.wire.inputSeqs.length;
        const stats = players[i]!.session.pacingStats!;
        t.diagnostic(`player ${i}: ${sent} inputs, ${snapshots[i]} snapshots, pacing ${JSON.stringify(stats)}`);
        assert.ok(snapshots[i]! > 60, `player ${i}: ${snapshots[i]} snapshots: the match was too short to test`);
        // One input per tick, not one per frame (the frame loop runs at 144 Hz).
        assert.ok(sent <= snapshots[i]! + 15, `player ${i}: ${sent} inputs for ${snapshots[i]} snapshots, want about one per tick`);
        // (Loosely: on a loaded machine timers run late, and late inputs are not made up.)
        assert.ok(sent >= snapshots[i]! / 2, `player ${i}: ${sent} inputs for ${snapshots[i]} snapshots, want about one per tick`);
        assert.ok(stats.dropped <= sent / 4, `player ${i}: pacing ${JSON.stringify(stats)}: the server dropped too many`);
      }
      // The prediction agreed with the server: corrections come only from
      // inputs the server dropped.
      const pe = view!.predictionError;
      t.diagnostic(`player 0 prediction: ${JSON.stringify(pe)}`);
      assert.ok(pe.checked > 50, `prediction checked ${pe.checked} times: the test is not testing`);
      assert.ok(pe.corrections <= players[0]!.session.pacingStats!.dropped + 1, `prediction ${JSON.stringify(pe)}: corrections beyond the server's drops`);
      assert.ok(view!.interpolated(players[0]!.session.clock.now()).length === 1, "the other entity, interpolated");
      // The frames came in the encoding asked for (a delta connection may
      // also get a full snapshot), and deltas are smaller.
      const wire = players[0]!.wire;
      const got = wire.frames.snapshot + wire.frames.snapshotDelta;
      t.diagnostic(`player 0: frames ${JSON.stringify(wire.frames)}, bytes ${JSON.stringify(wire.bytes)}, as full messages ${fullBytes} B`);
      assert.equal(got, snapshots[0], "a snapshot handed over per snapshot frame");
      if (full) {
        assert.equal(wire.frames.snapshotDelta, 0, "deltas on a full connection");
      } else {
        assert.ok(wire.frames.snapshotDelta >= got - 2, `${JSON.stringify(wire.frames)}: want deltas`);
        const sent = wire.bytes.snapshot + wire.bytes.snapshotDelta;
        assert.ok(sent < fullBytes * 0.8, `delta snapshots took ${sent} B, the same as full messages ${fullBytes} B`);
      }
      const m = await players[0]!.rest.match(players[0]!.matchId);
      assert.equal(m.status, "ended");
      assert.deepEqual(m.result?.players.map((r) => r.forfeit), [false, false]);
    });
  }

  test("a dropped socket is resumed: same entity, no kick, seqs continue", { timeout: 60_000 }, async () => {
    const players = await queue("duel", ["sdk-c", "sdk-d"]);
    const a = players[0]!;
    const welcomes: [Welcome, boolean][] = [];
    const kicks: string[] = [];
    const disconnects: number[] = [];
    a.session.on("welcome", (w, resumed) => welcomes.push([w, resumed]));
    a.session.on("kick", (k) => kicks.push(k.reason));
    a.session.on("disconnect", (c) => disconnects.push(c.code));
    let snaps = 0;
    let ackBefore = 0;
    let ackAfter = 0;
    a.session.on("snapshot", (s) => {
      snaps++;
      const me = s.entities.find((e) => e.id === welcomes[0]?.[0].entityId);
      if (me !== undefined) {
        if (welcomes.length === 1) ackBefore = me.lastInputSeq;
        else ackAfter = me.lastInputSeq;
      }
    });
    await Promise.all(players.map((p) => p.session.connect()));
    for (const p of players) {
      frameLoop(p, () => ({ moveX: 500, moveY: 500 }));
    }

    // Play a second, then cut A's socket without a close frame.
    await until(() => snaps >= 30, "30 snapshots");
    const sentBefore = a.wire.inputSeqs.length;
    a.wire.sockets[0]!.terminate();
    await until(() => welcomes.length === 2, "the resumed Welcome");
    const [w2, resumed] = welcomes[1]!;
    assert.equal(resumed, true);
    assert.equal(w2.entityId, welcomes[0]![0].entityId, "the same entity");
    assert.equal(w2.matchId, a.matchId);
    assert.ok(w2.lastInputSeq <= a.wire.inputSeqs[sentBefore - 1]!, "the server has no seq the client did not send");
    assert.deepEqual(disconnects, [1006]);
    await until(() => ackAfter > ackBefore, "inputs applied after the resume");

    const ends = await Promise.all(players.map((p) => p.session.closed));
    for (const end of ends) {
      assert.equal(end.close.reason, "match_over");
    }
    assert.deepEqual(kicks, ["match_over"], "no kick but the match's end");
    assert.equal(a.wire.sockets.length, 2);
    assert.deepEqual(
      welcomes.map(([w]) => w.snapshots),
      [SnapshotEncoding.DELTA, SnapshotEncoding.DELTA],
      "deltas on both connections",
    );
    assert.ok(a.wire.frames.snapshotDelta > 30, `frames ${JSON.stringify(a.wire.frames)}: want deltas`);
    // Seqs strictly increase across both connections: nothing repeated.
    const seqs = a.wire.inputSeqs;
    for (let i = 1; i < seqs.length; i++) {
      assert.ok(seqs[i]! > seqs[i - 1]!, `input seq ${seqs[i]} after ${seqs[i - 1]}`);
    }
    const m = await a.rest.match(a.matchId);
    assert.deepEqual(m.result?.players.map((r) => r.forfeit), [false, false], "nobody forfeited");
  });

  test("chess: a refused move, then fool's mate to checkmate", { timeout: 60_000 }, async () => {
    const players = await queue("chess", ["sdk-white?", "sdk-black?"]);
    const script = ["f2f3", "e7e5", "g2g4", "d8h4"];
    const refused: ChessRefusal[] = [];
    const games = players.map((p) => {
      const g = new ChessGame(p.session);
      g.on("rejected", (r) => refused.push(r));
      g.on("board", (b) => {
        if (!g.myTurn || b.moves.length >= script.length) {
          return;
        }
        if (b.moves.length === 0) {
          g.move("e2e5"); // illegal: refused, and nothing changes
        }
        g.move(script[b.moves.length]!);
      });
      return g;
    });
    const matchEnds: MatchEnd[] = [];
    players.forEach((p) => p.session.on("matchEnd", (m) => matchEnds.push(m)));
    await Promise.all(players.map((p) => p.session.connect()));
    const ends = await Promise.all(players.map((p) => p.session.closed));

    const black = games.findIndex((g) => g.color === "black");
    assert.ok(black >= 0, "a player has black");
    const board = games[black]!.board!;
    assert.equal(board.status, "checkmate");
    assert.equal(board.winner, players[black]!.playerId);
    assert.deepEqual(board.moves, script);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.reason, "illegal_move");
    assert.equal(refused[0]!.command?.kind.case === "move" ? refused[0]!.command.kind.value.uci : "", "e2e5");
    for (const end of ends) {
      assert.equal(end.close.reason, "match_over");
      const mine = end.matchEnd?.results.find((r) => r.playerId === players[black]!.playerId);
      assert.equal(mine?.placement, 1, "black won");
    }
    const m = await players[0]!.rest.match(players[0]!.matchId);
    const record = m.record as unknown as ChessRecord;
    assert.deepEqual(record.moves, script);
    assert.match(record.pgn, /Qh4#/);
  });
});

// until polls cond every 10 ms until it holds, or fails after 20 s.
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
