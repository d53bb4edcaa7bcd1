// The arena screen: a canvas with the player's own entity predicted and
// the others interpolated (the SDK's ArenaView), keyboard and mouse
// controls sampled once per input, inputs sent one per server tick at the
// pace the SDK's session sets (Session.inputDue, not once per frame), an
// overlay of the server's positions and of the prediction's corrections,
// and the network statistics.
import {
  ARENA_SIZE,
  ArenaView,
  BUTTON_FIRE,
  HIT_RADIUS,
  MAX_HP,
  RANGE,
  cooldownTicks,
  type Controls,
  type EntityView,
  type InputLike,
  type Vec,
} from "../../sdk/ts/src/arena/index.js";
import { deltaSnapshots, type Kick, type Session, type Snapshot, type Welcome } from "../../sdk/ts/src/index.js";

import { byId, rateText } from "./dom.js";
import type { ArenaState, ControlsOverride, CorrectionRecord, DropRecord } from "./hook.js";
import type { ByteCounter } from "./net.js";

// GRAPH_SAMPLES is how many snapshot arrivals the net graph shows.
const GRAPH_SAMPLES = 120;
// CORRECTION_MS is how long a correction stays drawn.
const CORRECTION_MS = 1500;
// TRACER_MS is how long a shot's tracer stays drawn.
const TRACER_MS = 120;
// MAX_MARKS bounds the corrections kept for drawing.
const MAX_MARKS = 32;

const COLORS = {
  floor: "#10161f",
  grid: "#1b2533",
  border: "#2c3a4d",
  self: "#4da3ff",
  other: "#ff7a59",
  dead: "#56647a",
  text: "#d7e0ec",
  hpBack: "#2a3442",
  hpGood: "#46c37b",
  hpLow: "#e5b73b",
  hpBad: "#e5484d",
  server: "#f4f7fb",
  correction: "#ff4d6d",
  aim: "rgba(77, 163, 255, 0.45)",
  tracer: "#ffe08a",
};

// NO_PACING is the pacing statistics before the session has any.
const NO_PACING = { starved: 0, dropped: 0, backlog: 0, leadMs: 0, dilation: 0, skew: 0, inFlight: 0, inFlightLimit: 0, heldBack: 0 };

interface Mark {
  from: Vec;
  to: Vec;
  at: number;
}

// SEND_RING is how many sends the page remembers for its DropRecords.
const SEND_RING = 256;

interface SendRecord {
  seq: number;
  inFlight: number;
  limit: number;
  leadMs: number;
}

interface Arrival {
  dt: number;
  correction: boolean;
}

/**
 * ArenaScreen plays one arena match on a session: start connects and runs
 * until the session ends; stop ends its loops and listeners (not the
 * session). Everything runs on the page's event loop.
 */
export class ArenaScreen {
  readonly #session: Session;
  readonly #bytes: ByteCounter;
  readonly #canvas = byId<HTMLCanvasElement>("arena-canvas");
  readonly #graph = byId<HTMLCanvasElement>("net-graph");
  readonly #scoreboard = byId("scoreboard");
  readonly #showServerBox = byId<HTMLInputElement>("show-server");
  readonly #abort = new AbortController();
  readonly #offs: (() => void)[] = [];

  #view: ArenaView | undefined;
  #welcomes = 0;
  #resumed = false;
  #snapshots = 0;
  #encoding: "delta" | "full" | undefined; // the newest Welcome's snapshots
  #inputsSent = 0;
  #override: ControlsOverride | null = null;
  #keys = new Set<string>();
  #mouse: { x: number; y: number } | undefined; // canvas CSS pixels
  #mouseDown = false;
  #lastAim: Vec = { x: 1000, y: 0 };
  #controls: Required<Controls> = { moveX: 0, moveY: 0, buttons: 0, aimX: 1000, aimY: 0 };
  #showServer = false;
  #marks: Mark[] = [];
  #arrivals: Arrival[] = [];
  #lastArrival: number | undefined;
  #correctionLog: CorrectionRecord[] = [];
  #dropLog: DropRecord[] = [];
  readonly #sends: SendRecord[] = Array.from({ length: SEND_RING }, () => ({ seq: 0, inFlight: 0, limit: 0, leadMs: 0 }));
  #lastShotAt = -Infinity;
  #tracer: { from: Vec; dir: Vec; at: number } | undefined;
  #raf = 0;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #inputTimer: ReturnType<typeof setTimeout> | undefined;
  #waitingForAck = false; // the pacing holds the next input back
  #bytesAt: { t: number; down: number; up: number } | undefined;
  #rates = { down: 0, up: 0 };

  /** Kicks received, reason words in order. */
  readonly kicks: string[] = [];

  /** Returns the screen of the match session plays; it starts nothing. */
  constructor(session: Session, bytes: ByteCounter) {
    this.#session = session;
    this.#bytes = bytes;
  }

  /**
   * Connects the session and starts the input loop and the drawing; it
   * resolves with the first Welcome, and rejects as Session.connect does.
   */
  async start(): Promise<Welcome> {
    const s = this.#session;
    this.#offs.push(
      s.on("welcome", (w, resumed) => this.#onWelcome(w, resumed)),
      s.on("snapshot", (snap, at) => this.#onSnapshot(snap, at)),
      s.on("kick", (k: Kick) => this.kicks.push(k.reason)),
    );
    this.#listen();
    this.#showServer = this.#showServerBox.checked;
    const w = await s.connect(this.#abort.signal);
    s.ping(); // the round trip, for #pump, before the first heartbeat
    this.#pump();
    this.#raf = requestAnimationFrame((t) => this.#frame(t));
    this.#statsTimer = setInterval(() => this.#updateStats(), 500);
    this.#updateStats();
    this.#canvas.focus();
    return w;
  }

  /** Stops the loops and listeners; the canvas keeps its last frame. */
  stop(): void {
    this.#abort.abort();
    cancelAnimationFrame(this.#raf);
    clearTimeout(this.#inputTimer);
    if (this.#statsTimer !== undefined) {
      clearInterval(this.#statsTimer);
    }
    for (const off of this.#offs.splice(0)) {
      off();
    }
    this.#keys.clear();
    this.#mouseDown = false;
  }

  /** See DemoHook.setControls. */
  setControls(c: ControlsOverride | null): void {
    this.#override = c;
  }

  /** See DemoHook.showServer. */
  showServer(on: boolean): void {
    this.#showServer = on;
    this.#showServerBox.checked = on;
  }

  /** The screen's state for the test hook. */
  state(): ArenaState {
    const v = this.#view;
    const now = this.#session.clock.now();
    const self = v?.lastSnapshot?.entities.find((e) => e.id === v.entityId);
    const c = this.#controls;
    return {
      entityId: v?.entityId ?? 0,
      welcomes: this.#welcomes,
      resumed: this.#resumed,
      snapshots: this.#snapshots,
      ...(this.#encoding !== undefined ? { snapshotEncoding: this.#encoding } : {}),
      tick: v?.lastSnapshot?.tick ?? 0,
      ...(v?.known ? { predicted: v.predicted } : {}),
      ...(self !== undefined ? { self: plain(self) } : {}),
      others: v === undefined ? [] : v.interpolated(now).map(plain),
      prediction: { ...(v?.predictionError ?? { checked: 0, corrections: 0, last: 0, max: 0 }) },
      inputsSent: this.#inputsSent,
      heldBack: this.#session.pacingStats?.heldBack ?? 0,
      corrections: [...this.#correctionLog],
      drops: [...this.#dropLog],
      pacing: { ...(this.#session.pacingStats ?? NO_PACING) },
      controls: { moveX: c.moveX, moveY: c.moveY, fire: (c.buttons & BUTTON_FIRE) !== 0, aimX: c.aimX, aimY: c.aimY },
    };
  }

  // ---- The session's messages ----

  #onWelcome(w: Welcome, resumed: boolean): void {
    this.#welcomes++;
    this.#resumed = resumed;
    this.#encoding = deltaSnapshots(w) ? "delta" : "full";
    // A resumed connection continues the earlier view's prediction and
    // seqs (same entity: the session checks it).
    this.#view = new ArenaView(w, this.#session.clock.now(), this.#view !== undefined ? { resumeFrom: this.#view } : {});
    this.#lastArrival = undefined;
    if (resumed) {
      this.#session.ping();
      this.#pump(); // the loop waited for the connection
    }
  }

  #onSnapshot(s: Snapshot, at: number): void {
    const v = this.#view;
    if (v === undefined) {
      return;
    }
    const before = v.known ? v.predicted : undefined;
    const corrections = v.predictionError.corrections;
    const prev = v.lastSnapshot; // read before v.snapshot replaces it
    const prevTick = prev?.tick ?? 0;
    const prevAck = prev?.entities.find((e) => e.id === v.entityId)?.lastInputSeq ?? 0;
    try {
      v.snapshot(s, at);
    } catch (err) {
      // A snapshot no arena server sends: stop playing on it.
      reportError(err);
      this.#session.close();
      return;
    }
    this.#snapshots++;
    const corrected = v.predictionError.corrections > corrections;
    if (corrected) {
      const self = s.entities.find((e) => e.id === v.entityId);
      this.#correctionLog.push({
        tick: s.tick,
        error: v.predictionError.last,
        ack: self?.lastInputSeq ?? 0,
        backlog: self?.inputBacklog ?? 0,
        prevTick,
        prevAck,
        hp: self?.hp ?? 0,
        sinceLastMs: this.#lastArrival === undefined ? -1 : Math.round(at - this.#lastArrival),
      });
      if (this.#correctionLog.length > MAX_MARKS) {
        this.#correctionLog.shift();
      }
    }
    const ack = s.entities.find((e) => e.id === v.entityId)?.lastInputSeq ?? 0;
    if (prevTick > 0 && ack - prevAck > s.tick - prevTick) {
      this.#logDrop(s, ack, prevTick, prevAck, at);
    }
    if (corrected && before !== undefined) {
      this.#marks.push({ from: before, to: v.predicted, at });
      if (this.#marks.length > MAX_MARKS) {
        this.#marks.shift();
      }
    }
    if (this.#lastArrival !== undefined) {
      this.#arrivals.push({ dt: at - this.#lastArrival, correction: corrected });
      if (this.#arrivals.length > GRAPH_SAMPLES) {
        this.#arrivals.shift();
      }
    }
    this.#lastArrival = at;
    if (this.#waitingForAck && !this.#abort.signal.aborted) {
      this.#pump(); // the pacing held an input back for acknowledgements: one came
    }
  }

  #logDrop(s: Snapshot, ack: number, prevTick: number, prevAck: number, at: number): void {
    let maxInFlight = 0;
    let limit = 0;
    let leadMs = 0;
    for (let seq = prevAck + 1; seq <= ack && seq - prevAck <= SEND_RING; seq++) {
      const r = this.#sends[seq % SEND_RING]!;
      if (r.seq !== seq) {
        continue;
      }
      if (r.inFlight >= maxInFlight) {
        maxInFlight = r.inFlight;
        limit = r.limit;
      }
      leadMs = r.leadMs;
    }
    this.#dropLog.push({
      tick: s.tick,
      prevTick,
      ack,
      prevAck,
      backlog: s.entities.find((e) => e.id === this.#view?.entityId)?.inputBacklog ?? 0,
      sinceLastMs: this.#lastArrival === undefined ? -1 : Math.round(at - this.#lastArrival),
      maxInFlight,
      inFlightLimit: limit,
      leadMs: Math.round(leadMs * 10) / 10,
    });
    if (this.#dropLog.length > MAX_MARKS) {
      this.#dropLog.shift();
    }
  }

  // ---- Controls and inputs ----

  // #pump sends the next input when the SDK's pacing says it is due (one
  // per server tick, timed to arrive just before the tick that applies it),
  // and sets a timer for the one after. The pacing also holds an input back
  // while too many are unacknowledged: after a stall (this page, the
  // browser's network, or the server held up), what was sent meanwhile would
  // reach the server in a burst, and the server drops the surplus beyond a
  // few — an honest loss, but a correction of the prediction; a tick the
  // server applies nothing instead, which the prediction does not even see.
  // A snapshot that frees a held input pumps at once (#onSnapshot); while
  // the session reconnects, its Welcome does (#onWelcome).
  #pump(): void {
    clearTimeout(this.#inputTimer);
    this.#inputTimer = undefined;
    const s = this.#session;
    const v = this.#view;
    if (this.#abort.signal.aborted || v === undefined || !s.connected) {
      return;
    }
    const now = s.clock.now();
    const due = s.inputDue(now);
    this.#waitingForAck = s.inputHeld(now);
    if (due > 0) {
      this.#inputTimer = setTimeout(() => this.#pump(), due);
      return;
    }
    const input = this.#sample(now);
    const seq = s.sendInput(input, now);
    const st = s.pacingStats;
    if (seq !== undefined && st !== undefined) {
      const r = this.#sends[seq % SEND_RING]!;
      r.seq = seq;
      r.inFlight = st.inFlight;
      r.limit = st.inFlightLimit;
      r.leadMs = st.leadMs;
    }
    // At least half a tick apart, even when the timers ran late.
    this.#inputTimer = setTimeout(() => this.#pump(), Math.max(s.inputDue(), 500 / v.tickRate));
  }

  // #sample reads the controls, and numbers and predicts the input to send
  // now (ArenaView), with its seq and view tick.
  #sample(now: number): InputLike {
    const v = this.#view!;
    const c = this.#readControls();
    this.#controls = c;
    const input = v.nextInput(c, now);
    this.#inputsSent++;
    if ((input.buttons & BUTTON_FIRE) !== 0 && (input.aimX !== 0 || input.aimY !== 0)) {
      // The tracer is cosmetic: the server decides whether the shot is
      // fired (its cooldown) and what it hits.
      const cooldownMs = (cooldownTicks(v.tickRate) * 1000) / v.tickRate;
      if (now - this.#lastShotAt >= cooldownMs) {
        this.#lastShotAt = now;
        this.#tracer = { from: v.predicted, dir: { x: input.aimX, y: input.aimY }, at: now };
      }
    }
    return input;
  }

  #readControls(): Required<Controls> {
    const o = this.#override;
    if (o !== null) {
      return {
        moveX: o.moveX ?? 0,
        moveY: o.moveY ?? 0,
        buttons: o.fire ? BUTTON_FIRE : 0,
        aimX: Math.trunc(o.aimX ?? 0),
        aimY: Math.trunc(o.aimY ?? 0),
      };
    }
    const k = this.#keys;
    const x = (k.has("right") ? 1 : 0) - (k.has("left") ? 1 : 0);
    const y = (k.has("down") ? 1 : 0) - (k.has("up") ? 1 : 0);
    const aim = this.#aim();
    return {
      moveX: x * 1000,
      moveY: y * 1000,
      buttons: this.#mouseDown || k.has("fire") ? BUTTON_FIRE : 0,
      aimX: aim.x,
      aimY: aim.y,
    };
  }

  // #aim is the direction from the own entity to the mouse, in world units.
  #aim(): Vec {
    const v = this.#view;
    const m = this.#mouse;
    if (v !== undefined && v.known && m !== undefined) {
      const scale = ARENA_SIZE / this.#canvas.clientWidth;
      const p = v.predicted;
      const x = Math.round(m.x * scale - p.x);
      const y = Math.round(m.y * scale - p.y);
      if (x !== 0 || y !== 0) {
        this.#lastAim = { x, y };
      }
    }
    return this.#lastAim;
  }

  #listen(): void {
    const keyOf = (e: KeyboardEvent): string | undefined => {
      switch (e.code) {
        case "KeyW":
        case "ArrowUp":
          return "up";
        case "KeyS":
        case "ArrowDown":
          return "down";
        case "KeyA":
        case "ArrowLeft":
          return "left";
        case "KeyD":
        case "ArrowRight":
          return "right";
        case "Space":
          return "fire";
        default:
          return undefined;
      }
    };
    const typing = (e: Event) => e.target instanceof HTMLInputElement && e.target.type !== "checkbox";
    const down = (e: KeyboardEvent) => {
      const k = keyOf(e);
      if (k === undefined || typing(e) || e.ctrlKey || e.metaKey || e.altKey) {
        return;
      }
      e.preventDefault(); // arrows and space would scroll the page
      this.#keys.add(k);
    };
    const up = (e: KeyboardEvent) => {
      const k = keyOf(e);
      if (k !== undefined) {
        this.#keys.delete(k);
      }
    };
    const blur = () => {
      this.#keys.clear();
      this.#mouseDown = false;
    };
    const move = (e: PointerEvent) => {
      const r = this.#canvas.getBoundingClientRect();
      this.#mouse = { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    const press = (e: PointerEvent) => {
      if (e.button === 0) {
        move(e);
        this.#mouseDown = true;
        this.#canvas.focus();
      }
    };
    const release = (e: PointerEvent) => {
      if (e.button === 0) {
        this.#mouseDown = false;
      }
    };
    const toggle = () => {
      this.#showServer = this.#showServerBox.checked;
    };
    const c = this.#canvas;
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    window.addEventListener("blur", blur);
    window.addEventListener("pointerup", release);
    c.addEventListener("pointermove", move);
    c.addEventListener("pointerdown", press);
    this.#showServerBox.addEventListener("change", toggle);
    this.#offs.push(() => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
      window.removeEventListener("blur", blur);
      window.removeEventListener("pointerup", release);
      c.removeEventListener("pointermove", move);
      c.removeEventListener("pointerdown", press);
      this.#showServerBox.removeEventListener("change", toggle);
    });
  }

  // ---- Drawing ----

  #frame(_t: number): void {
    this.#raf = requestAnimationFrame((t) => this.#frame(t));
    this.#draw();
  }

  #draw(): void {
    const canvas = this.#canvas;
    const size = canvas.clientWidth;
    if (size === 0) {
      return; // hidden
    }
    const dpr = window.devicePixelRatio || 1;
    const px = Math.round(size * dpr);
    if (canvas.width !== px || canvas.height !== px) {
      canvas.width = px;
      canvas.height = px;
    }
    const g = canvas.getContext("2d");
    if (g === null) {
      return;
    }
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const k = size / ARENA_SIZE; // CSS pixels per centi-unit
    const now = this.#session.clock.now();

    g.fillStyle = COLORS.floor;
    g.fillRect(0, 0, size, size);
    g.strokeStyle = COLORS.grid;
    g.lineWidth = 1;
    g.beginPath();
    for (let i = 1; i < 10; i++) {
      const p = Math.round(i * 10_000 * k) + 0.5;
      g.moveTo(p, 0);
      g.lineTo(p, size);
      g.moveTo(0, p);
      g.lineTo(size, p);
    }
    g.stroke();
    g.strokeStyle = COLORS.border;
    g.strokeRect(0.5, 0.5, size - 1, size - 1);

    const v = this.#view;
    if (v === undefined) {
      return;
    }
    const r = Math.max(HIT_RADIUS * k, 7);
    for (const e of v.interpolated(now)) {
      this.#drawEntity(g, e, k, r, false);
    }
    const snap = v.lastSnapshot;
    const selfSnap = snap?.entities.find((e) => e.id === v.entityId);
    if (v.known && selfSnap !== undefined) {
      const p = v.predicted;
      if (selfSnap.hp > 0 && this.#override === null && this.#mouse !== undefined) {
        const aim = this.#lastAim;
        const len = Math.hypot(aim.x, aim.y);
        if (len > 0) {
          g.strokeStyle = COLORS.aim;
          g.setLineDash([4, 6]);
          g.beginPath();
          g.moveTo(p.x * k, p.y * k);
          g.lineTo((p.x + (aim.x / len) * RANGE) * k, (p.y + (aim.y / len) * RANGE) * k);
          g.stroke();
          g.setLineDash([]);
        }
      }
      const tr = this.#tracer;
      if (tr !== undefined && now - tr.at < TRACER_MS) {
        const len = Math.hypot(tr.dir.x, tr.dir.y);
        g.strokeStyle = COLORS.tracer;
        g.globalAlpha = 1 - (now - tr.at) / TRACER_MS;
        g.lineWidth = 2;
        g.beginPath();
        g.moveTo(tr.from.x * k, tr.from.y * k);
        g.lineTo((tr.from.x + (tr.dir.x / len) * RANGE) * k, (tr.from.y + (tr.dir.y / len) * RANGE) * k);
        g.stroke();
        g.globalAlpha = 1;
        g.lineWidth = 1;
      }
      this.#drawEntity(g, { id: v.entityId, x: p.x, y: p.y, hp: selfSnap.hp, score: selfSnap.score }, k, r, true);
    }

    if (this.#showServer && snap !== undefined) {
      g.strokeStyle = COLORS.server;
      g.lineWidth = 1.5;
      g.setLineDash([3, 3]);
      for (const e of snap.entities) {
        g.beginPath();
        g.arc(e.x * k, e.y * k, r + 3, 0, Math.PI * 2);
        g.stroke();
      }
      g.setLineDash([]);
      if (v.known && selfSnap !== undefined) {
        // The inputs in flight: from the server's word to the prediction.
        g.beginPath();
        g.moveTo(selfSnap.x * k, selfSnap.y * k);
        g.lineTo(v.predicted.x * k, v.predicted.y * k);
        g.stroke();
      }
      this.#marks = this.#marks.filter((m) => now - m.at < CORRECTION_MS);
      g.strokeStyle = COLORS.correction;
      g.fillStyle = COLORS.correction;
      g.lineWidth = 2;
      for (const m of this.#marks) {
        g.globalAlpha = 1 - (now - m.at) / CORRECTION_MS;
        g.beginPath();
        g.moveTo(m.from.x * k, m.from.y * k);
        g.lineTo(m.to.x * k, m.to.y * k);
        g.stroke();
        g.beginPath();
        g.arc(m.to.x * k, m.to.y * k, 3, 0, Math.PI * 2);
        g.fill();
      }
      g.globalAlpha = 1;
      g.lineWidth = 1;
    }
  }

  #drawEntity(g: CanvasRenderingContext2D, e: EntityView, k: number, r: number, self: boolean): void {
    const x = e.x * k;
    const y = e.y * k;
    const size = this.#canvas.clientWidth;
    const alive = e.hp > 0;
    g.fillStyle = alive ? (self ? COLORS.self : COLORS.other) : COLORS.dead;
    g.globalAlpha = alive ? 1 : 0.5;
    g.beginPath();
    g.arc(x, y, r, 0, Math.PI * 2);
    g.fill();
    g.globalAlpha = 1;
    if (self) {
      g.strokeStyle = "#ffffff";
      g.lineWidth = 2;
      g.stroke();
      g.lineWidth = 1;
    }
    // Hit points above and the name and kills below, kept inside the
    // canvas at its edges.
    const w = 30;
    const bx = Math.min(Math.max(x, w / 2 + 2), size - w / 2 - 2);
    const top = y - r - 9 >= 2 ? y - r - 9 : y + r + 21;
    g.fillStyle = COLORS.hpBack;
    g.fillRect(bx - w / 2, top, w, 4);
    const frac = Math.max(Math.min(e.hp / MAX_HP, 1), 0);
    g.fillStyle = frac > 0.5 ? COLORS.hpGood : frac > 0.25 ? COLORS.hpLow : COLORS.hpBad;
    g.fillRect(bx - w / 2, top, w * frac, 4);
    g.fillStyle = COLORS.text;
    g.font = "600 11px system-ui, sans-serif";
    g.textAlign = "center";
    g.textBaseline = "top";
    const lx = Math.min(Math.max(x, 36), size - 36);
    const ly = y + r + 18 < size ? y + r + 5 : y - r - 24;
    g.fillText(alive ? `${self ? "You" : `P${e.id}`} · ${e.score}` : "respawning…", lx, ly);
  }

  // ---- Statistics ----

  #updateStats(): void {
    const s = this.#session;
    const v = this.#view;
    const now = performance.now();
    const b = this.#bytes;
    const prev = this.#bytesAt;
    if (prev !== undefined && now > prev.t) {
      const secs = (now - prev.t) / 1000;
      this.#rates = { down: (b.down - prev.down) / secs, up: (b.up - prev.up) / secs };
    }
    this.#bytesAt = { t: now, down: b.down, up: b.up };
    const rtt = s.rttMs;
    const pacing = s.pacingStats;
    const err = v?.predictionError;
    const dash = "–";
    byId("stat-rtt").textContent = rtt === undefined ? dash : `${rtt.toFixed(1)} ms`;
    byId("stat-backlog").textContent = pacing === undefined ? dash : String(pacing.backlog);
    byId("stat-dropped").textContent = pacing === undefined ? dash : `${pacing.dropped} / ${pacing.starved}`;
    byId("stat-inputs").textContent = String(this.#inputsSent);
    byId("stat-flight").textContent = pacing === undefined ? dash : `${pacing.inFlight} of ${pacing.inFlightLimit || "–"} / ${pacing.heldBack}`;
    byId("stat-lead").textContent = pacing === undefined || pacing.leadMs === 0 ? dash : `${pacing.leadMs.toFixed(1)} ms`;
    byId("stat-corrections").textContent = err === undefined ? dash : `${err.corrections} of ${err.checked}`;
    byId("stat-error").textContent = err === undefined ? dash : `${err.last} / ${err.max}`;
    byId("stat-bytes").textContent = `${rateText(this.#rates.down)} / ${rateText(this.#rates.up)}`;
    byId("stat-snapshots").textContent = v === undefined ? dash : `${this.#snapshots} · tick ${v.lastSnapshot?.tick ?? 0} · ${this.#encoding ?? dash}`;
    this.#drawScoreboard();
    this.#drawGraph();
  }

  #drawScoreboard(): void {
    const v = this.#view;
    const snap = v?.lastSnapshot;
    const sb = this.#scoreboard;
    sb.replaceChildren();
    if (v === undefined || snap === undefined) {
      sb.textContent = "Waiting for the match to start…";
      return;
    }
    const entities = [...snap.entities].sort((a, b) => b.score - a.score || a.id - b.id);
    for (const e of entities) {
      const chip = document.createElement("span");
      chip.className = e.id === v.entityId ? "chip self" : "chip";
      chip.textContent = `${e.id === v.entityId ? "You" : `P${e.id}`} ${e.score}`;
      sb.append(chip);
    }
  }

  #drawGraph(): void {
    const c = this.#graph;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (w === 0 || h === 0) {
      return;
    }
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d");
    if (g === null) {
      return;
    }
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const maxMs = 100;
    const bar = w / GRAPH_SAMPLES;
    const arrivals = this.#arrivals;
    const start = GRAPH_SAMPLES - arrivals.length;
    for (let i = 0; i < arrivals.length; i++) {
      const a = arrivals[i]!;
      const bh = Math.max(Math.min(a.dt / maxMs, 1) * h, 1);
      g.fillStyle = a.correction ? COLORS.correction : COLORS.self;
      g.fillRect((start + i) * bar, h - bh, Math.max(bar - 0.5, 0.5), bh);
    }
    const v = this.#view;
    if (v !== undefined) {
      const y = Math.round(h - ((1000 / v.tickRate) / maxMs) * h) + 0.5;
      g.strokeStyle = "rgba(215, 224, 236, 0.5)";
      g.setLineDash([2, 3]);
      g.beginPath();
      g.moveTo(0, y);
      g.lineTo(w, y);
      g.stroke();
      g.setLineDash([]);
    }
  }
}

function plain(e: EntityView | { id: number; x: number; y: number; hp: number; score: number }): EntityView {
  return { id: e.id, x: e.x, y: e.y, hp: e.hp, score: e.score };
}
