// A minimal Arbiter client in plain JavaScript (Node 20): two guests queue
// for a duel, walk towards each other and shoot, one input per tick, until
// the match ends, and it prints the result. docs/clients.md explains every
// step; docs/protocol.md and docs/arena.md are the rules it follows.
//
//	npm ci && node duel.js [http://127.0.0.1:8080]
import WebSocket from "ws";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ClientMessageSchema, ServerMessageSchema } from "./gen/arbiter/v1/arbiter_pb.js";

const base = process.argv[2] ?? "http://127.0.0.1:8080";

// The arena's rules that prediction needs (docs/arena.md), in integers.
const ARENA = 100000; // positions are 0..ARENA centi-units on both axes
const SPEED = 20000; // centi-units a second at full stick
const MAX_MOVE = 1000; // a move vector's length as applied, per-mille
const RANGE = 30000; // a shot's range

// clampMove is sim.ClampMove: a vector longer than 1000 is scaled to 1000,
// each component truncated towards zero, by n = ⌈√(x² + y²)⌉. Plain
// numbers are exact here for |x|, |y| < 2^26 (x² + y² < 2^53).
function clampMove(x, y) {
  const l2 = x * x + y * y;
  if (l2 <= MAX_MOVE * MAX_MOVE) return [x, y];
  let n = Math.floor(Math.sqrt(l2));
  while (n * n > l2) n--; // floor(√l2) exactly, whatever the rounding
  while (n * n < l2) n++; // then up to the ceiling
  return [Math.trunc((x * MAX_MOVE) / n), Math.trunc((y * MAX_MOVE) / n)];
}

// move is sim.Move: where one applied input (already clamped) takes an
// entity at pos, at tickRate ticks a second.
function move(pos, mx, my, tickRate) {
  const den = MAX_MOVE * tickRate;
  const inArena = (v) => Math.min(Math.max(v, 0), ARENA);
  return {
    x: inArena(pos.x + Math.trunc((mx * SPEED) / den)),
    y: inArena(pos.y + Math.trunc((my * SPEED) / den)),
  };
}

// api calls the REST API (docs/rest.md) and returns the JSON answer, or
// throws with the error's code and message.
async function api(method, path, token, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

// queue signs a guest in, queues it for a duel and long-polls its ticket
// until it is matched. The matched ticket's ws_url carries the join token.
async function queue(name) {
  const { token } = await api("POST", "/v1/auth/guest", null, { name });
  const { ticket_id } = await api("POST", "/v1/matchmaking/tickets", token, { mode: "duel" });
  for (;;) {
    const t = await api("GET", `/v1/matchmaking/tickets/${ticket_id}?wait=25s`, token);
    if (t.status === "matched") return t;
    if (t.status !== "searching") throw new Error(`${name}: ticket ${t.status}`);
  }
}

// play connects to the match and plays it until the server closes the
// connection: one input per snapshot received (the server's tick is the
// metronome), its own entity predicted and reconciled with every snapshot.
// fireRange is how close it gets before it shoots.
function play(name, wsUrl, fireRange) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl); // Node's ws answers the server's pings itself
    const send = (kind) => ws.send(toBinary(ClientMessageSchema, create(ClientMessageSchema, { kind })));
    const out = { name, playerId: null, end: null, kick: null, rttMs: null, checked: 0, off: 0 };
    let welcome = null;
    let seq = 0; // the last input seq used
    let last = null; // the previous snapshot: its tick, our ack and hp
    let pending = []; // inputs sent, not yet processed: { seq, mx, my, pos predicted after it }

    const onSnapshot = (s) => {
      const me = s.entities.find((e) => e.id === welcome.entityId);
      const foe = s.entities.find((e) => e.id !== welcome.entityId);
      const ack = me.lastInputSeq;
      // Check the prediction made for the input the server just applied:
      // exactly one input processed in exactly one tick, alive at its start.
      const done = pending.find((p) => p.seq === ack);
      if (last && done && s.tick === last.tick + 1 && ack === last.ack + 1 && last.hp > 0) {
        out.checked++;
        if (done.pos.x !== me.x || done.pos.y !== me.y) out.off++;
      }
      last = { tick: s.tick, ack, hp: me.hp };
      // Reconcile: start from the server's position, replay what it has not
      // processed yet. (A dead entity does not move; this bot keeps it simple.)
      pending = pending.filter((p) => p.seq > ack);
      let pos = { x: me.x, y: me.y };
      for (const p of pending) p.pos = pos = move(pos, p.mx, p.my, welcome.tickRate);

      // This tick's input: close in on the foe, shoot once within range.
      const dx = foe.x - pos.x;
      const dy = foe.y - pos.y;
      const dist = Math.hypot(dx, dy);
      let [mx, my] = [0, 0];
      if (dist > fireRange / 2) [mx, my] = clampMove(Math.round((dx * 1000) / dist), Math.round((dy * 1000) / dist));
      const fire = foe.hp > 0 && dist < fireRange ? 1 : 0;
      seq++;
      send({
        case: "input",
        value: { seq, moveX: mx, moveY: my, buttons: fire, aimX: dx, aimY: dy, viewTick: s.tick },
      });
      pending.push({ seq, mx, my, pos: move(pos, mx, my, welcome.tickRate) });
    };

    ws.on("message", (data, isBinary) => {
      if (!isBinary) return ws.close(1003, "text_frame");
      let msg;
      try {
        msg = fromBinary(ServerMessageSchema, data);
      } catch {
        return ws.close(1007, "bad_frame");
      }
      const m = msg.kind.value;
      switch (msg.kind.case) {
        case "welcome": // always first: who we are, the tick rate, where seqs resume
          welcome = m;
          out.playerId = m.playerId;
          seq = m.lastInputSeq;
          send({ case: "ping", value: { clientTime: BigInt(Date.now()) } });
          break;
        case "pong":
          out.rttMs = Date.now() - Number(m.clientTime);
          break;
        case "snapshot":
          onSnapshot(m);
          break;
        case "matchEnd":
          out.end = m;
          break;
        case "kick": // the reason word comes again in the close frame
          out.kick = m;
          break;
      }
    });
    ws.on("close", (code, reason) => resolve({ ...out, code, reason: reason.toString() }));
    ws.on("error", reject); // a refused upgrade (401, 429, 503) ends here
  });
}

const [a, b] = await Promise.all([queue("alice"), queue("bob")]);
console.log(`matched: match ${a.match_id}`);
const players = await Promise.all([play("alice", a.ws_url, RANGE), play("bob", b.ws_url, RANGE / 2)]);

const end = players[0].end ?? players[1].end;
for (const p of players) {
  console.log(`${p.name}: closed ${p.code} ${p.reason}; kick ${p.kick?.reason ?? "none"}; rtt ${p.rttMs} ms`);
  console.log(`${p.name}: prediction checked ${p.checked} inputs, ${p.off} off`);
  if (!p.end || p.code !== 1000) process.exitCode = 1;
}
if (end) {
  console.log(`match ${end.matchId} over:`);
  for (const r of end.results) {
    const name = players.find((p) => p.playerId === r.playerId)?.name;
    console.log(
      `  ${name} (entity ${r.entityId}): score ${r.score}, placement ${r.placement}, ` +
        `rating ${r.ratingBefore.toFixed(1)} → ${r.ratingAfter.toFixed(1)}`,
    );
  }
}
