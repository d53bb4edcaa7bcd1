/**
 * Arbiter's TypeScript client SDK: the REST API ({@link RestClient}), a
 * player's WebSocket session in a match with resume ({@link Session}),
 * delta snapshots ({@link applyDelta}), input pacing ({@link Pacer}), the arena's prediction and interpolation
 * ({@link ArenaView}), chess ({@link ChessGame}), and the protocol's
 * generated messages. ES modules, no Node-only imports: it runs in browsers
 * and in Node ≥ 20 (pass the `ws` package's WebSocket there).
 *
 * @packageDocumentation
 */
export {
  ApiError,
  DEFAULT_LONG_POLL_MS,
  RestClient,
  sleep,
  type ChessRecord,
  type Fetch,
  type Guest,
  type Leaderboard,
  type LeaderboardEntry,
  type Locate,
  type Match,
  type MatchPlayerResult,
  type MatchResult,
  type MatchStatus,
  type Player,
  type Rating,
  type RestOptions,
  type Ticket,
  type TicketStatus,
} from "./rest.js";
export {
  ConnectError,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_SILENCE_TIMEOUT_MS,
  GAME_ARENA,
  MAX_PENDING_ACTIONS,
  Session,
  WrongGameError,
  deltaSnapshots,
  playedWithActions,
  systemClock,
  type Clock,
  type InputFields,
  type PendingAction,
  type Reconnecting,
  type SessionEnd,
  type SessionEvents,
  type SessionOptions,
  type WebSocketFactory,
  type WebSocketLike,
} from "./session.js";
export { applyDelta, DeltaError, type DeltaErrorKind } from "./delta.js";
export {
  closeCode,
  closeReasons,
  describeClose,
  isCloseReason,
  isResumable,
  isResumableReason,
  type CloseInfo,
  type CloseReason,
} from "./close.js";
export {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BACKOFF_MULTIPLIER,
  DEFAULT_GIVE_UP_AFTER_MS,
  backoffCap,
  backoffDelay,
  type Backoff,
} from "./backoff.js";
export { MAX_DILATION, Pacer, TICK_CLOCK_MAX_SKEW, TickClock, type PacerStats } from "./pacing.js";
export {
  ChessGame,
  chessClocks,
  decodeBoard,
  decodeCommand,
  isUci,
  moveCommand,
  offerDrawCommand,
  resignCommand,
  type ChessClockReading,
  type ChessEvents,
  type ChessRefusal,
  type ChessRejection,
  type ChessStatus,
  type Color,
} from "./chess.js";
// The protocol's messages, generated from proto/ (protoc-gen-es): the
// message types and their schemas, for create, toBinary and fromBinary
// of @bufbuild/protobuf.
export * from "./gen/arbiter/v1/arbiter_pb.js";
export * from "./gen/arbiter/chess/v1/chess_pb.js";
// The arena on the client: its integer rules (clampMove, move), prediction
// and reconciliation of the own entity, interpolation of the others, and
// ArenaView, which keeps them from a Session's Welcome and Snapshots.
export * from "./arena/index.js";
