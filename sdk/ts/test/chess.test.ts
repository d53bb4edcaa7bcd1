import assert from "node:assert/strict";
import { test } from "node:test";

import { create, toBinary } from "@bufbuild/protobuf";

import { ChessGame, chessClocks, decodeCommand, isUci, moveCommand, offerDrawCommand, resignCommand, type ChessRefusal } from "../src/chess.js";
import { BoardSchema } from "../src/gen/arbiter/chess/v1/chess_pb.js";
import { Session } from "../src/session.js";
import { chessWelcome, FakeClock, Sockets, type FakeSocket } from "./fakes.js";

test("chessClocks: the Go client's ChessClocks cases", () => {
  const board = (status: string, turn: string) => ({ status, turn, whiteMs: 60_000, blackMs: 30_000 });
  const tests: { name: string; b: ReturnType<typeof board>; after: number; white: number; black: number }[] = [
    { name: "white to move: white's runs", b: board("playing", "white"), after: 1500, white: 58_500, black: 30_000 },
    { name: "black to move: black's runs", b: board("playing", "black"), after: 10_000, white: 60_000, black: 20_000 },
    { name: "never below zero", b: board("playing", "black"), after: 3_600_000, white: 60_000, black: 0 },
    { name: "a clock before the State: as made", b: board("playing", "white"), after: -1000, white: 60_000, black: 30_000 },
    { name: "the game is over: both still", b: board("checkmate", "white"), after: 60_000, white: 60_000, black: 30_000 },
    { name: "waiting: both still", b: board("waiting", "white"), after: 60_000, white: 60_000, black: 30_000 },
  ];
  for (const tt of tests) {
    assert.deepEqual(chessClocks(tt.b, 5000, 5000 + tt.after), { whiteMs: tt.white, blackMs: tt.black }, tt.name);
  }
});

test("commands: UCI moves, resignation, draw offers", () => {
  const tests: { give: string; ok: boolean }[] = [
    { give: "e2e4", ok: true },
    { give: "e7e8q", ok: true },
    { give: "b7a8n", ok: true },
    { give: "e1g1", ok: true },
    { give: "e7e8k", ok: false },
    { give: "E2E4", ok: false },
    { give: "e2e9", ok: false },
    { give: "e2", ok: false },
    { give: "e2e4 ", ok: false },
    { give: "", ok: false },
  ];
  for (const tt of tests) {
    assert.equal(isUci(tt.give), tt.ok, tt.give);
    if (tt.ok) {
      const c = decodeCommand(moveCommand(tt.give));
      assert.deepEqual([c.kind.case, c.kind.case === "move" ? c.kind.value.uci : ""], ["move", tt.give]);
    } else {
      assert.throws(() => moveCommand(tt.give), RangeError, tt.give);
    }
  }
  assert.equal(decodeCommand(resignCommand()).kind.case, "resign");
  assert.equal(decodeCommand(offerDrawCommand()).kind.case, "offerDraw");
});

function board(over: Partial<{ turn: string; status: string; drawOffer: string; whiteMs: number; blackMs: number; moves: string[] }> = {}) {
  return toBinary(
    BoardSchema,
    create(BoardSchema, {
      fen: "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",
      whitePlayerId: "p1",
      blackPlayerId: "p2",
      whiteMs: 180_000,
      blackMs: 180_000,
      turn: "white",
      status: "playing",
      ...over,
    }),
  );
}

function state(sock: FakeSocket, version: number, lastActionSeq: number, payload: Uint8Array) {
  sock.serve({ kind: { case: "state", value: { version, lastActionSeq, payload } } });
}

test("ChessGame: the Board, the colour, the clocks, refusals", async () => {
  const sockets = new Sockets();
  const clock = new FakeClock();
  const session = new Session("ws://x/v1/play?token=j", { webSocket: sockets.factory, clock, heartbeatMs: 0 });
  const game = new ChessGame(session);
  const boards: string[] = [];
  const refused: ChessRefusal[] = [];
  game.on("board", (b) => boards.push(`${b.turn} ${b.status}`));
  game.on("rejected", (r) => refused.push(r));
  const p = session.connect();
  sockets.last.open();
  sockets.last.serve(chessWelcome());
  await p;
  assert.equal(game.board, undefined);
  assert.equal(game.color, undefined);
  assert.deepEqual(game.clocks(), { whiteMs: 0, blackMs: 0 });

  state(sockets.last, 1, 0, board());
  assert.equal(game.color, "white");
  assert.equal(game.myTurn, true);
  assert.equal(game.over, false);
  await clock.advance(1500);
  assert.deepEqual(game.clocks(), { whiteMs: 178_500, blackMs: 180_000 });

  assert.equal(game.move("e2e5"), 1);
  assert.equal(game.move("e2e4"), 2);
  sockets.last.serve({ kind: { case: "rejected", value: { seq: 1, reason: "illegal_move", message: "e2e5 is not legal" } } });
  state(sockets.last, 2, 2, board({ turn: "black", whiteMs: 180_500, moves: ["e2e4"] }));
  assert.equal(refused.length, 1);
  assert.equal(refused[0]!.reason, "illegal_move");
  assert.equal(refused[0]!.command?.kind.case === "move" ? refused[0]!.command.kind.value.uci : "", "e2e5", "the refused command");
  assert.equal(game.myTurn, false);
  await clock.advance(2000);
  assert.deepEqual(game.clocks(), { whiteMs: 180_500, blackMs: 178_000 });

  state(sockets.last, 3, 2, board({ turn: "white", drawOffer: "p2" }));
  assert.equal(game.drawOffered, true);
  assert.equal(game.acceptDraw(), 3);
  state(sockets.last, 4, 3, board({ status: "draw_agreed" }));
  assert.equal(game.over, true);
  assert.deepEqual(game.clocks(), { whiteMs: 180_000, blackMs: 180_000 }, "the clocks stop with the game");
  assert.deepEqual(boards, ["white playing", "black playing", "white playing", "white draw_agreed"]);
  const sent = sockets.last.actions().map((a) => decodeCommand(a.payload).kind.case);
  assert.deepEqual(sent, ["move", "move", "offerDraw"]);

  let errors = 0;
  game.on("error", () => errors++);
  state(sockets.last, 5, 3, new Uint8Array([0xff, 0xff]));
  assert.equal(errors, 1, "a State that is not a Board is an error event");
  game.dispose();
  session.close();
});
