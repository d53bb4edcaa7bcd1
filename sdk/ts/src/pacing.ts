/**
 * Input pacing: when an arena client sends its next input, so that inputs
 * arrive at the server just before the tick that applies them. A port of
 * the Go client's `Pacer` (netcode/client/pacer.go), rule for rule; its
 * tests are ported too, with the same virtual-time simulation of a link
 * and the server's input rules.
 *
 * @module
 */

/**
 * How much the {@link Pacer} stretches or shrinks one send period to move
 * its phase: every period is within ±25 % of the tick period (of inputs
 * sent when due). That is enough to shed a tick of standing backlog within
 * four ticks — well inside the server's two-second standing-excess window
 * — and never a burst.
 */
export const MAX_DILATION = 0.25;

// Pacing parameters. Times are in milliseconds of the client's clock; an
// input's "lead" is the time from its slot (when it was sent, or due) to the
// time the Pacer's model of the server's tick clock gives the tick that
// applies it — about when that tick's snapshot arrives.

// PACER_MARGIN is how much earlier than the input that came late the Pacer
// aims after a starvation: small, so that it stays close to the edge, but
// above the wander of the tick clock estimate over the minute the probe
// takes to come back to it.
const PACER_MARGIN = 4;
// PACER_MAX_MARGIN_SHIFT doubles the margin for each further starvation
// following the previous one within PACER_REPEAT_WINDOW_S, up to 2^3 times,
// so that a lasting change of the link is found in a few steps.
const PACER_MAX_MARGIN_SHIFT = 3;
const PACER_REPEAT_WINDOW_S = 2;
// The probe moves the target lead later by PACER_PROBE_SLOW (per unit of
// time, 0.005 %: 0.05 ms a second) for PACER_PROBE_CALM_S after a
// starvation, then doubles its speed every PACER_PROBE_DOUBLE_S up to
// PACER_PROBE_FAST (1.6 %, 16 ms a second): near the edge it found last it
// creeps, so that a starvation comes about once a minute; while the edge is
// unknown (at the start, or after the link got faster) it sheds a tick in
// about two seconds.
const PACER_PROBE_SLOW = 0.00005;
const PACER_PROBE_FAST = 0.016;
const PACER_PROBE_CALM_S = 30;
const PACER_PROBE_DOUBLE_S = 10;
// PACER_PROBE_STANDING (0.2 %, 2 ms a second) is the least speed of the
// probe while a backlog has stood through the last PACER_STAND_MIN
// snapshots of the current schedule: too few for the standing-backlog rule,
// but a sign of excess the slow probe would let grow.
const PACER_PROBE_STANDING = 0.002;
// The standing-backlog rule takes a backlog as standing once it has stood
// through half a second and through as many snapshots in a row as make it
// unlikely (PACER_STAND_CHANCE) that the jitter alone kept one standing
// that long, given the share of recent snapshots that showed none: at least
// PACER_STAND_MIN, at most as many as PACER_STAND_MAX_S brings.
const PACER_STAND_MIN = 12;
const PACER_STAND_CHANCE = 1e-4;
const PACER_STAND_MAX_S = 0.75;
// PACER_SHARE_SNAPSHOTS is the memory of the share of snapshots that showed
// no backlog (an exponential moving average): two seconds at 30 Hz.
const PACER_SHARE_SNAPSHOTS = 64;
// PACER_SEND_RING is how many send times the Pacer remembers, by seq: four
// seconds at 60 Hz, more than any acknowledgement takes.
const PACER_SEND_RING = 256;
// PACER_MAX_WINDOW bounds the snapshots remembered for the standing-backlog
// rule: PACER_STAND_MAX_S at 60 Hz, and more.
const PACER_MAX_WINDOW = 64;
// The in-flight limit (see Pacer.held). PACER_NET_RING is how many snapshots
// the Pacer remembers for it (two seconds at 30 Hz, one at 60); it sets a
// limit from the first that acknowledged an input if the round trip is
// short, and once PACER_NET_MIN of them did if not. The round trip is
// the least acknowledgement time of the newest PACER_RTT_SNAPSHOTS (a second
// at 30 Hz): long enough that a stall's few do not count, short enough to
// follow a slower link. PACER_ENVELOPE_SNAPSHOTS is how many of the newest
// arrivals the local lower envelope spans, against which the jitter of the
// way back is measured (and the stats' leadMs): few, so that it follows the
// server's clock when that loses ticks, which the tick clock does not.
// PACER_IN_FLIGHT_SLACK is how many more inputs than the round trip holds
// may be unacknowledged: one waiting for its tick at the server and one on
// its way.
const PACER_NET_RING = 64;
const PACER_NET_MIN = 8;
const PACER_RTT_SNAPSHOTS = 32;
const PACER_ENVELOPE_SNAPSHOTS = 9;
const PACER_IN_FLIGHT_SLACK = 2;

/** Input pacing statistics, for reports and load generators. */
export interface PacerStats {
  /**
   * Server ticks that applied no input of this client although it was
   * sending (the input came too late), as seen in the snapshots received.
   */
  readonly starved: number;
  /** Inputs the server processed without applying them (surplus), as seen in the snapshots. */
  readonly dropped: number;
  /** `input_backlog` of the newest snapshot: the client's inputs waiting at the server after that tick. */
  readonly backlog: number;
  /**
   * How long before the snapshot of the tick that applies it arrives the
   * Pacer sends an input, in milliseconds, against the earliest of the
   * newest snapshots' arrivals: the round trip (at its fastest) and the wait
   * at the server that the Pacer aims for; zero until it has settled on a
   * target. (The target lead itself is against the Pacer's model of the
   * server's tick clock, whose offset is arbitrary, and which does not
   * follow the server when that loses ticks: under load it reads far below
   * zero. This follows the arrivals within a few snapshots.)
   */
  readonly leadMs: number;
  /** How much the current send period differs from the nominal one, as a fraction: +0.25 is 25 % slower. */
  readonly dilation: number;
  /** The estimated drift of the server's tick clock relative to the client's, as a fraction. */
  readonly skew: number;
  /** Inputs sent and not yet acknowledged (`last_input_seq` of the newest snapshot). */
  readonly inFlight: number;
  /** How many may be before the Pacer holds the next one back (see {@link Pacer.held}); zero while it has no limit yet. */
  readonly inFlightLimit: number;
  /** Inputs the Pacer held back past their due time. */
  readonly heldBack: number;
}

// NetRing holds the newest PACER_NET_RING values of a series.
class NetRing {
  readonly v = new Float64Array(PACER_NET_RING);
  n = 0;
  head = 0;

  add(x: number): void {
    if (this.n === PACER_NET_RING) {
      this.head = (this.head + 1) % PACER_NET_RING;
      this.n--;
    }
    this.v[(this.head + this.n) % PACER_NET_RING] = x;
    this.n++;
  }

  // newest returns the least and the greatest of the newest k values (of
  // all, if k is larger); +Infinity and -Infinity if there are none.
  newest(k: number): [number, number] {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = Math.max(this.n - k, 0); i < this.n; i++) {
      const x = this.v[(this.head + i) % PACER_NET_RING]!;
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    return [lo, hi];
  }

  // last returns the newest value.
  last(): number {
    return this.v[(this.head + this.n - 1) % PACER_NET_RING]!;
  }
}

interface SendRecord {
  seq: number;
  at: number; // the slot: when it was sent, or due
  onTime: boolean; // sent no later than a period after the Pacer asked (the slot is the due time, or earlier)
}

// Sample is what one snapshot says about the lead inputs need.
interface Sample {
  tick: number;
  need: number; // at most this lead was needed; valid if known
  sent: number; // the slot of the input it is about; valid if known
  known: boolean;
  backlog: number;
}

interface WindowScan {
  full: boolean; // they span the ticks asked for, with enough samples
  minBacklog: number; // the least backlog among them
  need: number; // the largest need among them
  freshNeed: number; // the largest need among the fresh ones
  fresh: number; // how many are fresh
}

/**
 * Pacer decides when a client sends its next input, so that inputs arrive
 * at the server just before the tick that applies them: late enough that
 * they do not wait (latency), early enough that no tick goes without one
 * (starvation: the player's entity stands still for a tick). It is the input
 * side of what the server tells every client in its snapshots: the own
 * entity's `last_input_seq` and `input_backlog`.
 *
 * The client calls {@link Pacer.sent} for every input it sends,
 * {@link Pacer.observe} for every snapshot (its own entity's fields), and
 * sends the next input at {@link Pacer.due}. A browser game checks `due`
 * once a frame and sends one input on the first frame at or after it: one
 * input per tick whatever its frame rate. The Pacer sends at the tick rate
 * and moves its phase only by stretching or shrinking send periods by at
 * most {@link MAX_DILATION}, never in bursts.
 *
 * How it works. The server applies at most one input per tick, in seq
 * order, so the input with seq m is applied at tick m+c, where c = tick −
 * last_input_seq changes only when a tick starves (c+1) or the server drops
 * surplus inputs (c−1 each). A model of the server's tick clock gives every
 * tick a time in the client's clock (its rate estimated from the lower
 * envelope of snapshot arrivals), and the Pacer sends seq m at the time of
 * tick m+c less a target lead. Every snapshot is evidence about the lead an
 * input needs; the target lead follows it:
 *
 * - When c changes, the target lead changes with it (a hold): a starved
 *   tick pushes the stream a tick back, a drop pulls it a tick forward, and
 *   neither makes the Pacer catch up.
 * - The snapshots of the next 100 ms after a starvation set the target lead
 *   to a margin (4 ms, doubling for starvations in a row) above the most
 *   any of those inputs, or the late one, needed.
 * - A backlog standing through half a second, and through enough snapshots
 *   in a row that the jitter alone would hardly keep one standing that
 *   long, is shed down to the most those inputs needed.
 * - Otherwise the target lead creeps later (the probe), to shed latency
 *   until a starvation finds the edge again: about one starvation a minute.
 *
 * Before the first snapshot (the match has not started) the Pacer sends at
 * the nominal rate. A client that sends nothing for more than two periods (a
 * paused game) is idle, not late: the ticks that starve until its next input
 * is applied are neither counted nor taken as evidence.
 *
 * The schedule alone would send through a stall of the server or of the way
 * there, and the server, handed the lot at once, would drop all but the
 * newest (each drop a prediction correction). So the Pacer also holds the
 * next input back ({@link Pacer.held}) while more inputs are unacknowledged
 * than the round trip holds (at its fastest lately, and the jitter of the
 * way back) and two more; for a round trip short enough, never more than the
 * server takes at once (⌈tick rate/10⌉ + 1); for a longer one, twice that.
 * A held input goes out once a snapshot acknowledges enough (a held tick
 * costs at most a tick in which the entity stands still, which the
 * prediction does not even see), and a hold longer than two periods is a
 * pause. What the snapshots show meanwhile is no evidence either; when the
 * server applies the input sent after it, the target lead becomes the one
 * from before the hold, or the lead that input needed if less: a server
 * that lost ticks in the stall (a tick loop that skips what it cannot catch
 * up) applies every input from then on later than the tick clock has it,
 * which the Pacer follows at once instead of letting a backlog stand until
 * the server drops it.
 *
 * Pure: it reads no clock (every time is an argument, in milliseconds of
 * one monotonic clock such as `performance.now()`) and starts nothing.
 */
export class Pacer {
  readonly #tickRate: number;
  readonly #nominal: number; // the nominal tick period, ms
  readonly #clock: TickClock;

  // The send side.
  readonly #sends: SendRecord[] = Array.from({ length: PACER_SEND_RING }, () => ({ seq: 0, at: 0, onTime: false }));
  #lastSeq = 0; // highest seq sent
  #lastAt = 0; // when it was sent (not its slot)
  #haveSent = false;
  #due = 0; // when the next input is due; valid if haveSent
  // The first input sent after the client paused; 0 if none.
  #resumeSeq = 0;

  // The observation side.
  #haveObs = false;
  #lastTick = 0; // of the newest snapshot observed
  #lastAck = 0; // its last_input_seq
  #c = 0; // seq m is expected at tick m+c
  #lead = 0; // the target lead, ms; valid if haveLead
  #haveLead = false;
  // The slot of the first input on the schedule a rule last set by lowering
  // the target lead (not the probe); settling: the schedule is still moving
  // towards it.
  #settledAt = 0;
  #settling = false;

  // The latest snapshots since the last starvation or drop, for the
  // standing-backlog rule: a ring.
  readonly #window: Sample[] = Array.from({ length: PACER_MAX_WINDOW }, () => ({
    tick: 0,
    need: 0,
    sent: 0,
    known: false,
    backlog: 0,
  }));
  #windowN = 0;
  #windowHead = 0;
  readonly #windowLen: number; // the long window, in ticks
  readonly #windowConf: number; // the confirmation window after a starvation, in snapshots
  readonly #standMax: number; // the most snapshots the standing-backlog rule waits for
  // The share of recent snapshots that showed no backlog, and its value at
  // the last one that did.
  #clearShare = 0.5;
  #clearRef = 0.5;
  // Snapshots in a row, about inputs on the current schedule, that showed a backlog.
  #backlogRun = 0;

  // The open starvation, if any.
  readonly #ev = { open: false, lo: 0, conf: 0, hi: 0 };
  #haveEvent = false;
  #eventTick = 0;
  #eventRepeat = 0;
  // Whether the probe creeps: a starvation found the edge, and no shedding
  // of more than half a tick has lost it since.
  #edgeKnown = false;

  // The evidence of the in-flight limit (see held), of the newest
  // PACER_NET_RING snapshots: how much later than the tick clock gives its
  // tick each arrived; for each that arrived at least half a period after
  // the one before (the first of a bunch), how much later than the local
  // lower envelope it came; for each that acknowledged a new input, the time
  // from that input's slot; how many ticks before each never showed.
  readonly #late = new NetRing();
  readonly #spread = new NetRing();
  readonly #ackTime = new NetRing();
  readonly #skipped = new NetRing();
  #lastArrival = 0;
  // The in-flight limit, 0 for none yet; whether the Pacer held the next
  // input back when it last looked (at a send or a snapshot).
  #limit = 0;
  #holding = false;
  // The target lead when the Pacer began to hold inputs back (valid if
  // holdLeadOK); restore: the target lead is set anew when the server
  // applies resumeSeq, the first input sent after the hold became a pause.
  #holdLead = 0;
  #holdLeadOK = false;
  #restore = false;

  #starved = 0;
  #dropped = 0;
  #backlog = 0;
  #heldBack = 0;
  #dilation = 0;

  /** Returns a Pacer for a server running at tickRate ticks a second. */
  constructor(tickRate: number) {
    tickRate = Math.max(Math.trunc(tickRate), 1);
    this.#tickRate = tickRate;
    this.#nominal = 1000 / tickRate;
    this.#clock = new TickClock(this.#nominal, tickRate);
    this.#windowLen = Math.min(Math.max(Math.trunc(tickRate / 2), 8), PACER_MAX_WINDOW);
    this.#windowConf = Math.max(3, Math.trunc((tickRate + 9) / 10));
    this.#standMax = Math.min(Math.max(Math.trunc(PACER_STAND_MAX_S * tickRate), PACER_STAND_MIN), PACER_MAX_WINDOW);
  }

  /**
   * When the next input should be sent, in the clock of the times given to
   * {@link Pacer.sent}; undefined before the first (send at once).
   */
  due(): number | undefined {
    return this.#haveSent ? this.#due : undefined;
  }

  /**
   * Records that the input with seq was sent at atMs, and schedules the
   * next. Seqs must increase; an input with a seq not above the last one is
   * ignored.
   *
   * The Pacer keeps its own schedule: an input sent late (a frame loop sends
   * on the first frame after it is due) keeps its slot, so that the next one
   * is due a period after the slot, not after the send. An input sent more
   * than a period late moves the schedule (the game stalled: the time lost
   * is not made up); one sent early restarts the schedule from it.
   */
  sent(seq: number, atMs: number): void {
    if (this.#haveSent && seq <= this.#lastSeq) {
      return;
    }
    const t = atMs;
    const period = this.#clock.period;
    if (this.#haveSent && t - this.#lastAt > 2 * period) {
      // The client paused (or the Pacer held inputs back): the server
      // starves until this input arrives, which is no news about the link,
      // and the ticks lost are not to be made up.
      this.#resumeSeq = seq;
      // After a hold, what the snapshots showed meanwhile was no news about
      // the link either: the target lead is set anew once the server
      // applies this input (see observe).
      this.#restore = this.#holdLeadOK;
    }
    this.#holdLeadOK = false;
    let sched = t;
    if (this.#haveSent) {
      sched = Math.min(Math.max(this.#due, t - period), t);
    }
    const r = this.#sends[seq % PACER_SEND_RING]!;
    r.seq = seq;
    r.at = sched;
    r.onTime = this.#haveSent && sched <= this.#due;
    this.#lastSeq = seq;
    this.#lastAt = t;
    this.#haveSent = true;

    let next = sched + period;
    const target = this.#target(seq + 1);
    if (target !== undefined) {
      const step = MAX_DILATION * period;
      if (this.#settling && Math.abs(target - next) <= step) {
        this.#settling = false;
        this.#settledAt = sched + period / 2;
      }
      next += Math.min(Math.max(target - next, -step), step);
    }
    this.#due = next;
    this.#dilation = (next - sched) / this.#nominal - 1;
    this.#setHolding(this.held(atMs));
  }

  // #setHolding records whether the Pacer holds the next input back, and
  // the target lead when it begins to.
  #setHolding(held: boolean): void {
    if (held && !this.#holdLeadOK && this.#haveLead) {
      this.#holdLead = this.#lead;
      this.#holdLeadOK = true;
    }
    this.#holding = held;
  }

  // #target returns when the input with seq m should be sent, if known yet.
  #target(m: number): number | undefined {
    if (!this.#haveLead || !this.#haveObs || this.#lastAck < this.#resumeSeq) {
      // No target yet, or the server has not applied the first input since
      // the client resumed: until then c says nothing about it.
      return undefined;
    }
    return this.#clock.at(m + this.#c) - this.#lead;
  }

  // #sentAt returns the slot of the input with seq, if remembered.
  #sentAt(seq: number): number | undefined {
    const r = this.#sends[seq % PACER_SEND_RING]!;
    if (!this.#haveSent || r.seq !== seq || seq > this.#lastSeq) {
      return undefined;
    }
    return r.at;
  }

  /**
   * Takes what the snapshot of tick, received at atMs, says about the
   * client's own entity: `last_input_seq` (ack) and `input_backlog`.
   * Snapshots must be observed in the order received; one not newer than the
   * last is ignored, and ticks may be skipped.
   */
  observe(tick: number, ack: number, backlog: number, atMs: number): void {
    const t = atMs;
    if (this.#haveObs && tick <= this.#lastTick) {
      return;
    }
    this.#clock.add(tick, t);
    this.#observeNet(tick, ack, t);
    this.#observe(tick, ack, backlog, t);
    this.#setLimit(t);
  }

  // #observe is observe's evidence about the lead.
  #observe(tick: number, ack: number, backlog: number, t: number): void {
    this.#backlog = backlog;
    if (!this.#haveObs || ack < this.#lastAck) {
      // The first snapshot, or a server whose numbering went back: start
      // over from here.
      this.#haveObs = true;
      this.#lastTick = tick;
      this.#lastAck = ack;
      this.#c = tick - ack;
      this.#resetWindow();
      this.#ev.open = false;
      this.#addSample(tick, ack, backlog);
      return;
    }
    const prevTick = this.#lastTick;
    const prevAck = this.#lastAck;
    const dk = tick - prevTick;
    let slip = dk - (ack - prevAck); // starved ticks less dropped inputs
    this.#lastTick = tick;
    this.#lastAck = ack;
    this.#c = tick - ack;
    if (slip > 0 && (this.#holding || !this.#waiting(prevTick, prevAck, t))) {
      // The client sent nothing to apply, or the Pacer holds inputs back: it
      // is idle, not late.
      slip = 0;
    }
    if (this.#haveLead) {
      // Hold: the inputs under way are now applied slip ticks later, which
      // is that much more lead; the schedule stays where it is.
      this.#lead += slip * this.#clock.period;
    }
    if (this.#restore && ack >= this.#resumeSeq) {
      // The server applies the first input sent after the Pacer held inputs
      // back: c maps the inputs from here on, and the target lead is the one
      // from before the hold, or what the newest input here needed if less
      // (the server lost ticks: its ticks come later than the tick clock has
      // them); the edge is to be found again.
      this.#restore = false;
      slip = 0;
      this.#lead = this.#holdLead;
      const s = this.#sentAt(ack + backlog);
      if (s !== undefined) {
        this.#lead = Math.min(this.#lead, this.#clock.at(tick) - s);
      }
      this.#ev.open = false;
      this.#edgeKnown = false;
    }

    let opened = false;
    if (slip > 0) {
      this.#starved += slip;
      opened = this.#onStarved(tick, prevTick, prevAck);
    } else if (slip < 0) {
      this.#dropped += -slip;
      this.#ev.open = false;
      this.#resetWindow();
    }

    this.#addSample(tick, ack, backlog);
    // A snapshot after the starvation confirms it (or not); so does the one
    // that shows it, if it skipped ticks and inputs were applied after.
    if (this.#ev.open && (slip <= 0 || (opened && ack > prevAck))) {
      this.#confirm(tick, ack, backlog);
    }
    this.#standing();
    this.#probe(tick, Math.min(dk, 4));
  }

  // #observeNet records what the snapshot of tick, received at t with ack,
  // says about the way back and the round trip (see held).
  #observeNet(tick: number, ack: number, t: number): void {
    this.#late.add(t - this.#clock.at(tick));
    if (this.#haveObs) {
      if (t - this.#lastArrival >= this.#clock.period / 2) {
        const [lo] = this.#late.newest(PACER_ENVELOPE_SNAPSHOTS);
        this.#spread.add(this.#late.last() - lo);
      }
      this.#skipped.add(tick - this.#lastTick - 1);
      if (ack > this.#lastAck) {
        const s = this.#sentAt(ack);
        if (s !== undefined) {
          this.#ackTime.add(t - s);
        }
      }
    }
    this.#lastArrival = t;
  }

  // #setLimit sets the in-flight limit from the evidence after a snapshot
  // (received at now), and counts an input the Pacer held back past its due
  // time that is now free to go (see held).
  #setLimit(now: number): void {
    this.#limit = 0;
    if (this.#ackTime.n > 0) {
      const period = this.#clock.period;
      const [rtt] = this.#ackTime.newest(PACER_RTT_SNAPSHOTS);
      const [, jitter] = this.#spread.newest(PACER_NET_RING);
      let round = PACER_IN_FLIGHT_SLACK + Math.trunc(rtt / period);
      if (this.#spread.n > 0) {
        round += Math.max(Math.ceil(jitter / period), 0);
      }
      const burst = Math.max(Math.trunc((this.#tickRate + 9) / 10), 1) + 1;
      if (PACER_IN_FLIGHT_SLACK + Math.trunc(rtt / period) <= burst) {
        // A short round trip: from the first acknowledgement on, so that
        // a stall in the match's first ticks (its start is when a loaded
        // machine stalls) cannot let a burst through.
        this.#limit = Math.min(round, burst);
      } else if (this.#ackTime.n >= PACER_NET_MIN) {
        this.#limit = 2 * round;
      }
    }
    const held = this.held(now);
    if (this.#holding && !held && this.#haveSent && now > this.#due) {
      this.#heldBack++;
    }
    this.#setHolding(held);
  }

  /**
   * Whether the Pacer holds the next input back at nowMs, whatever
   * {@link Pacer.due} says: as many inputs are sent and unacknowledged as
   * the in-flight limit lets be ({@link PacerStats.inFlightLimit}). The next
   * input is due again once a snapshot acknowledges enough of them. The
   * limit is what the round trip holds unacknowledged (at its fastest
   * lately, and the jitter of the way back) and two more; for a round trip
   * short enough, never more than the server takes at once (⌈tick rate/10⌉
   * + 1: it drops all but the newest of a longer queue); for a longer one,
   * twice that. After a stall of the server or of the way there, that keeps
   * what arrives at once from outgrowing what the server accepts, which
   * would cost a prediction correction; a held input costs at most a tick in
   * which the player's entity stands still. Ticks whose snapshots never
   * showed count as acknowledgements not yet seen (up to as many in a row as
   * lately went missing). There is a limit from the first snapshot that
   * acknowledged an input if the round trip is short (a stall in the match's
   * first ticks, when a loaded machine stalls, would let a burst through),
   * and from the eighth if not (a long link must not be throttled on the
   * evidence of a few).
   */
  held(nowMs: number): boolean {
    if (this.#limit === 0 || !this.#haveSent || !this.#haveObs) {
      return false;
    }
    let n = this.#lastSeq - this.#lastAck;
    const [, most] = this.#skipped.newest(PACER_NET_RING);
    if (most > 0) {
      // Snapshots go missing: count the ticks since the newest one that
      // would have shown by now, as many as went missing in a row lately.
      const [env] = this.#late.newest(PACER_ENVELOPE_SNAPSHOTS);
      const since = Math.floor((nowMs - this.#clock.at(this.#lastTick) - env) / this.#clock.period);
      n -= Math.min(Math.max(since, 0), most);
    }
    return n >= this.#limit;
  }

  // #waiting reports whether the server waited for an input at the tick
  // after prevTick: whether the client had sent the input after prevAck, in
  // its stream, before the snapshot of that tick could have arrived (at
  // now) — or whether the Pacer's own schedule put that input after the
  // tick: it was sent at the slot the Pacer asked for, or it is not sent
  // yet and the Pacer asks for it no more than a period before now. On a
  // link whose round trip is near zero (loopback, a LAN) the edge is right
  // at the tick's time, and such an input, which the probe moved past it,
  // is the starvation that finds the edge; taken as idle, it would let the
  // probe run away (every starved tick pushing the schedule a tick later).
  // An input the client sent (or has not sent) later than that is idle.
  #waiting(prevTick: number, prevAck: number, now: number): boolean {
    const seq = prevAck + 1;
    if (seq === this.#resumeSeq) {
      return false;
    }
    const s = this.#sentAt(seq);
    if (s !== undefined) {
      return s < this.#clock.at(prevTick + 1) || this.#sends[seq % PACER_SEND_RING]!.onTime;
    }
    return this.#haveSent && seq === this.#lastSeq + 1 && now <= this.#due + this.#clock.period;
  }

  // #slotOf returns the slot of the input with seq: when it was sent (or
  // due), or, for the next one not sent yet, when it is due.
  #slotOf(seq: number): number | undefined {
    const s = this.#sentAt(seq);
    if (s !== undefined || !this.#haveSent || seq !== this.#lastSeq + 1) {
      return s;
    }
    return this.#due;
  }

  // #onStarved handles a snapshot that shows starved ticks since the
  // previous one; it reports whether that is a new starvation.
  #onStarved(tick: number, prevTick: number, prevAck: number): boolean {
    this.#resetWindow();
    if (this.#ev.open) {
      // Still (or again) no input: the same starvation goes on.
      this.#ev.conf = 0;
      this.#ev.hi = -Infinity;
      return false;
    }
    // The input after prevAck was due at the tick after prevTick.
    const s = this.#slotOf(prevAck + 1) ?? 0;
    if (this.#recentEvent()) {
      this.#eventRepeat = Math.min(this.#eventRepeat + 1, PACER_MAX_MARGIN_SHIFT);
    } else {
      this.#eventRepeat = 0;
    }
    this.#haveEvent = true;
    this.#eventTick = tick;
    this.#ev.open = true;
    this.#ev.lo = this.#clock.at(prevTick + 1) - s;
    this.#ev.conf = 0;
    this.#ev.hi = -Infinity;
    return true;
  }

  #recentEvent(): boolean {
    return this.#haveEvent && this.#lastTick - this.#eventTick < PACER_REPEAT_WINDOW_S * this.#tickRate;
  }

  // #margin is how much earlier than a late input the Pacer aims: doubled
  // for each starvation in a row, never more than half a tick.
  #margin(): number {
    const m = PACER_MARGIN * (1 << this.#eventRepeat);
    return Math.min(m, this.#clock.period / 2);
  }

  // #confirm takes a snapshot that follows a starvation; after windowConf
  // of them (two if they skip ticks) it sets the target lead a margin above
  // the most any of them needed, the late input included.
  #confirm(tick: number, ack: number, backlog: number): void {
    if (backlog === 0) {
      const s = this.#sentAt(ack + 1);
      if (s !== undefined) {
        this.#ev.lo = Math.max(this.#ev.lo, this.#clock.at(tick) - s);
      }
    } else {
      const s = this.#window[(this.#windowHead + this.#windowN - 1) % PACER_MAX_WINDOW]!;
      if (s.known) {
        this.#ev.hi = Math.max(this.#ev.hi, s.need);
      }
    }
    this.#ev.conf++;
    if (this.#ev.conf >= this.#windowConf || (this.#ev.conf >= 2 && tick - this.#eventTick > this.#windowConf)) {
      this.#ev.open = false;
      this.#lower(Math.max(this.#ev.lo, this.#ev.hi) + this.#margin());
      this.#edgeKnown = true;
    }
  }

  // #addSample records what the snapshot of tick says about the lead
  // needed: the newest input present at the server, seq ack+backlog, would
  // still have been in time had it been sent at time(tick) less that lead.
  #addSample(tick: number, ack: number, backlog: number): void {
    const clear = backlog === 0 ? 1 : 0;
    this.#clearShare += (clear - this.#clearShare) / PACER_SHARE_SNAPSHOTS;
    let need = 0;
    let sent = 0;
    let known = false;
    const at = this.#sentAt(ack + backlog);
    if (at !== undefined) {
      need = this.#clock.at(tick) - at;
      sent = at;
      known = true;
      if (backlog > 0 && !this.#settling && at >= this.#settledAt) {
        this.#backlogRun++;
      }
    }
    if (backlog === 0) {
      this.#clearRef = this.#clearShare;
      this.#backlogRun = 0;
    }
    if (this.#windowN === PACER_MAX_WINDOW) {
      this.#windowHead = (this.#windowHead + 1) % PACER_MAX_WINDOW;
      this.#windowN--;
    }
    const s = this.#window[(this.#windowHead + this.#windowN) % PACER_MAX_WINDOW]!;
    s.tick = tick;
    s.need = need;
    s.sent = sent;
    s.known = known;
    s.backlog = backlog;
    this.#windowN++;
  }

  #resetWindow(): void {
    this.#windowN = 0;
    this.#windowHead = 0;
    this.#backlogRun = 0;
  }

  // #standing applies the standing-backlog rule to the window: a backlog of
  // at least one through the long window, and through standSamples
  // snapshots, is shed down to the largest lead those snapshots needed (of
  // the inputs sent since the schedule settled, if they are as many).
  // Before the Pacer has a target lead, the first full window sets it.
  #standing(): void {
    const n = this.#standSamples();
    const long = this.#scan(this.#windowLen, n);
    let want = Infinity;
    if (long.full) {
      if (!this.#haveLead) {
        want = long.need;
      } else if (long.minBacklog >= 1 && long.fresh >= n) {
        want = long.freshNeed;
      } else if (long.minBacklog >= 1) {
        want = long.need;
      }
    }
    if (want === Infinity) {
      return;
    }
    if (this.#recentEvent()) {
      want += this.#margin();
    }
    if (this.#haveLead && want < this.#lead - this.#clock.period / 2) {
      // The link got faster (or the lead was a tick early): where the edge
      // is now, only a probe can tell.
      this.#edgeKnown = false;
    }
    this.#lower(want);
  }

  // #standSamples returns how many snapshots in a row must show a backlog
  // for the standing-backlog rule to take it as standing.
  #standSamples(): number {
    const q = this.#clearRef;
    if (q <= 0) {
      return this.#standMax;
    }
    if (q >= 1) {
      return PACER_STAND_MIN;
    }
    const n = Math.ceil(Math.log(PACER_STAND_CHANCE) / Math.log1p(-q));
    return Math.trunc(Math.min(Math.max(n, PACER_STAND_MIN), this.#standMax));
  }

  // #scan looks at the samples of the last ticks ticks, and older ones
  // until there are minSamples (snapshots may skip ticks).
  #scan(ticks: number, minSamples: number): WindowScan {
    const w: WindowScan = { full: false, minBacklog: Infinity, need: -Infinity, freshNeed: -Infinity, fresh: 0 };
    let n = 0;
    let known = 0;
    for (let i = 0; i < this.#windowN; i++) {
      const s = this.#window[(this.#windowHead + this.#windowN - 1 - i) % PACER_MAX_WINDOW]!; // newest first
      const age = this.#lastTick - s.tick;
      if (age >= ticks && n >= minSamples) {
        w.full = true;
        break;
      }
      n++;
      w.minBacklog = Math.min(w.minBacklog, s.backlog);
      if (!s.known) {
        continue;
      }
      known++;
      w.need = Math.max(w.need, s.need);
      if (!this.#settling && s.sent >= this.#settledAt) {
        w.freshNeed = Math.max(w.freshNeed, s.need);
        w.fresh++;
      }
    }
    if (!w.full && n === this.#windowN && this.#windowN > 0) {
      // The oldest sample ends the window if it is old enough.
      const oldest = this.#window[this.#windowHead]!;
      w.full = this.#lastTick - oldest.tick >= ticks - 1 && n >= minSamples;
    }
    w.full = w.full && known * 2 >= n;
    return w;
  }

  // #lower sets the target lead to want if that is lower (or there is none yet).
  #lower(want: number): void {
    if (!this.#haveLead || want < this.#lead) {
      this.#lead = want;
      this.#haveLead = true;
      this.#settling = true;
    }
  }

  // #probe moves the target lead later as dk ticks pass.
  #probe(tick: number, dk: number): void {
    if (!this.#haveLead) {
      return;
    }
    let rate = PACER_PROBE_FAST;
    if (this.#edgeKnown) {
      rate = PACER_PROBE_SLOW;
      const since = (tick - this.#eventTick) / this.#tickRate - PACER_PROBE_CALM_S;
      if (since > 0) {
        rate = Math.min(PACER_PROBE_SLOW * Math.pow(2, since / PACER_PROBE_DOUBLE_S), PACER_PROBE_FAST);
      }
    }
    if (this.#backlogRun >= PACER_STAND_MIN) {
      rate = Math.max(rate, PACER_PROBE_STANDING);
    }
    this.#lead -= rate * dk * this.#clock.period;
  }

  /** The pacing statistics so far. */
  stats(): PacerStats {
    let leadMs = 0;
    if (this.#haveLead) {
      const [env] = this.#late.newest(PACER_ENVELOPE_SNAPSHOTS);
      leadMs = Math.max(this.#lead + env, 0);
    }
    return {
      starved: this.#starved,
      dropped: this.#dropped,
      backlog: this.#backlog,
      leadMs,
      dilation: this.#dilation,
      skew: this.#clock.skew,
      inFlight: this.#haveSent && this.#haveObs ? Math.max(this.#lastSeq - this.#lastAck, 0) : 0,
      inFlightLimit: this.#limit,
      heldBack: this.#heldBack,
    };
  }

  /** Continues the counters (starved, dropped, held back) of an earlier Pacer, of a connection that ended. */
  carryOver(s: PacerStats): void {
    this.#starved = s.starved;
    this.#dropped = s.dropped;
    this.#heldBack = s.heldBack;
  }
}

// Tick clock parameters.
//
// TICK_CLOCK_WINDOWS is how many one-second windows of snapshot arrivals
// the rate estimate looks at. The two ends of each slope are half the
// windows apart, at least TICK_CLOCK_LAG and at most TICK_CLOCK_MAX_LAG.
const TICK_CLOCK_WINDOWS = 32;
const TICK_CLOCK_LAG = 4;
const TICK_CLOCK_MAX_LAG = 8;
// A latency step shows as a jump of the window minima from one window to the
// next beyond TICK_CLOCK_STEP_SPREAD times their usual move (the median),
// and at least TICK_CLOCK_STEP_MIN ms: slopes across it are left out.
const TICK_CLOCK_STEP_SPREAD = 6;
const TICK_CLOCK_STEP_MIN = 4;
/** The bound of the estimated skew of the server's tick clock: real clocks are within a few hundred ppm. */
export const TICK_CLOCK_MAX_SKEW = 0.01;

/**
 * TickClock models the server's tick clock in the client's time: tick k
 * happens at at(k). Its offset is arbitrary (the first snapshot's arrival);
 * what matters is its rate, estimated from the earliest arrival in each
 * window of one second's ticks (the lower envelope, which jitter barely
 * moves) as the median of the slopes between windows some seconds apart.
 * Slopes across a latency step are left out; a stall leaves windows empty,
 * which are skipped. The clock is re-anchored at every estimate, so that it
 * does not jump. Exported for tests; the {@link Pacer} owns one.
 */
export class TickClock {
  readonly #nominal: number; // ms per tick
  readonly #window: number; // ticks per window
  /** The estimated milliseconds per tick. */
  period: number;
  /** period/nominal − 1. */
  skew = 0;

  #anchorK = 0;
  #anchorT = 0;
  #ok = false;

  #curIdx = 0;
  #curMin = Infinity;
  #curN = 0;
  readonly #minsIdx = new Float64Array(TICK_CLOCK_WINDOWS);
  readonly #minsMin = new Float64Array(TICK_CLOCK_WINDOWS);
  #minsN = 0;
  #head = 0;

  /** Returns a clock of nominal ms per tick, tickRate ticks a second. */
  constructor(nominal: number, tickRate: number) {
    this.#nominal = nominal;
    this.period = nominal;
    this.#window = tickRate;
  }

  /** The time of tick k. */
  at(k: number): number {
    return this.#anchorT + (k - this.#anchorK) * this.period;
  }

  /** Takes the arrival of the snapshot of tick k at t. */
  add(k: number, t: number): void {
    if (!this.#ok) {
      this.#anchorK = k;
      this.#anchorT = t;
      this.#ok = true;
      this.#curIdx = Math.floor(k / this.#window);
      this.#curMin = Infinity;
      this.#curN = 0;
    }
    const idx = Math.floor(k / this.#window);
    if (idx !== this.#curIdx) {
      if (this.#curN * 4 >= this.#window) {
        this.#push(this.#curIdx, this.#curMin);
        this.#estimate(k);
      }
      this.#curIdx = idx;
      this.#curMin = Infinity;
      this.#curN = 0;
    }
    this.#curMin = Math.min(this.#curMin, t - k * this.#nominal);
    this.#curN++;
  }

  #push(idx: number, min: number): void {
    if (this.#minsN === TICK_CLOCK_WINDOWS) {
      this.#head = (this.#head + 1) % TICK_CLOCK_WINDOWS;
      this.#minsN--;
    }
    const i = (this.#head + this.#minsN) % TICK_CLOCK_WINDOWS;
    this.#minsIdx[i] = idx;
    this.#minsMin[i] = min;
    this.#minsN++;
  }

  #nthIdx(i: number): number {
    return this.#minsIdx[(this.#head + i) % TICK_CLOCK_WINDOWS]!;
  }

  #nthMin(i: number): number {
    return this.#minsMin[(this.#head + i) % TICK_CLOCK_WINDOWS]!;
  }

  // #estimate recomputes the rate and re-anchors the clock at tick k, so
  // that the time of tick k does not jump.
  #estimate(k: number): void {
    // step[i]: a latency step between windows i and i+1, a move of the
    // minima (less what the current rate explains) far beyond the usual.
    const n = this.#minsN;
    const step: boolean[] = new Array<boolean>(TICK_CLOCK_WINDOWS).fill(false);
    if (n > 2) {
      const move: number[] = [];
      for (let i = 0; i < n - 1; i++) {
        const di = this.#nthIdx(i + 1) - this.#nthIdx(i);
        move.push(Math.abs(this.#nthMin(i + 1) - this.#nthMin(i) - di * this.#window * this.#nominal * this.skew));
      }
      const limit = Math.max(TICK_CLOCK_STEP_MIN, TICK_CLOCK_STEP_SPREAD * median(move.slice()));
      for (let i = 0; i < n - 1; i++) {
        step[i] = move[i]! > limit;
      }
    }
    const lag = Math.min(Math.max(Math.trunc(n / 2), TICK_CLOCK_LAG), TICK_CLOCK_MAX_LAG);
    const slopes: number[] = [];
    for (let i = 0; i + lag < n; i++) {
      let crosses = false;
      for (let j = i; j < i + lag; j++) {
        if (step[j]) {
          crosses = true;
          break;
        }
      }
      if (crosses) {
        continue;
      }
      const ticks = (this.#nthIdx(i + lag) - this.#nthIdx(i)) * this.#window;
      slopes.push((this.#nthMin(i + lag) - this.#nthMin(i)) / (ticks * this.#nominal));
    }
    if (slopes.length < 3) {
      return;
    }
    let skew = median(slopes);
    skew = Math.min(Math.max(skew, -TICK_CLOCK_MAX_SKEW), TICK_CLOCK_MAX_SKEW);
    this.#anchorT = this.at(k);
    this.#anchorK = k;
    this.skew = skew;
    this.period = this.#nominal * (1 + skew);
  }
}

// median returns the median of s, which it sorts.
function median(s: number[]): number {
  s.sort((a, b) => a - b);
  const n = s.length;
  if (n % 2 === 0) {
    return (s[n / 2 - 1]! + s[n / 2]!) / 2;
  }
  return s[(n - 1) / 2]!;
}
