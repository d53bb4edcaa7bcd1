package arbiterv1

// This file is hand-written, beside the generated code: the field numbers
// of the messages that Arbiter encodes or decodes by hand on its hot paths
// (this package's delta codec, netcode's ClientMessage decoder, the Go
// client's input and snapshot frames). protoc-gen-go declares no constants
// for field numbers, and each codec spelling its own copy let them drift
// apart from arbiter.proto unseen; TestFieldNumbers holds every constant
// here to the generated descriptors, so a renumbered, retyped or added
// field fails the tests instead of a client in production.
//
// Each name is Field, the message's name and the field's name in Go's
// spelling: FieldSnapshotDeltaBaseTick is SnapshotDelta.base_tick.

import "google.golang.org/protobuf/encoding/protowire"

// Field numbers of ClientMessage's oneof kind: what a client sends.
const (
	// FieldClientMessageInput is ClientMessage.input (Input).
	FieldClientMessageInput protowire.Number = 1
	// FieldClientMessagePing is ClientMessage.ping (Ping).
	FieldClientMessagePing protowire.Number = 2
	// FieldClientMessageAction is ClientMessage.action (Action).
	FieldClientMessageAction protowire.Number = 3
)

// Field numbers of Input, the arena's per-tick input: uint32 seq, buttons
// and view_tick; sint32 (zigzag) move and aim.
const (
	// FieldInputSeq is Input.seq (uint32).
	FieldInputSeq protowire.Number = 1
	// FieldInputMoveX is Input.move_x (sint32).
	FieldInputMoveX protowire.Number = 2
	// FieldInputMoveY is Input.move_y (sint32).
	FieldInputMoveY protowire.Number = 3
	// FieldInputButtons is Input.buttons (uint32).
	FieldInputButtons protowire.Number = 4
	// FieldInputAimX is Input.aim_x (sint32).
	FieldInputAimX protowire.Number = 5
	// FieldInputAimY is Input.aim_y (sint32).
	FieldInputAimY protowire.Number = 6
	// FieldInputViewTick is Input.view_tick (uint32).
	FieldInputViewTick protowire.Number = 7
)

// Field numbers of Ping and Action.
const (
	// FieldPingClientTime is Ping.client_time (uint64).
	FieldPingClientTime protowire.Number = 1

	// FieldActionSeq is Action.seq (uint32).
	FieldActionSeq protowire.Number = 1
	// FieldActionPayload is Action.payload (bytes).
	FieldActionPayload protowire.Number = 2
)

// Field numbers of ServerMessage's oneof kind that are encoded or decoded
// by hand: the snapshots, one per tick.
const (
	// FieldServerMessageSnapshot is ServerMessage.snapshot (Snapshot).
	FieldServerMessageSnapshot protowire.Number = 2
	// FieldServerMessageSnapshotDelta is ServerMessage.snapshot_delta
	// (SnapshotDelta).
	FieldServerMessageSnapshotDelta protowire.Number = 8
)

// Field numbers of Snapshot.
const (
	// FieldSnapshotTick is Snapshot.tick (uint32).
	FieldSnapshotTick protowire.Number = 1
	// FieldSnapshotEntities is Snapshot.entities (repeated Entity).
	FieldSnapshotEntities protowire.Number = 2
)

// Field numbers of SnapshotDelta. The repeated numbers are packed when
// encoded (as proto3 does) and accepted packed or not when decoded (as
// protobuf requires).
const (
	// FieldSnapshotDeltaTick is SnapshotDelta.tick (uint32).
	FieldSnapshotDeltaTick protowire.Number = 1
	// FieldSnapshotDeltaBaseTick is SnapshotDelta.base_tick (uint32).
	FieldSnapshotDeltaBaseTick protowire.Number = 2
	// FieldSnapshotDeltaRemoved is SnapshotDelta.removed (repeated uint32).
	FieldSnapshotDeltaRemoved protowire.Number = 3
	// FieldSnapshotDeltaAdded is SnapshotDelta.added (repeated Entity).
	FieldSnapshotDeltaAdded protowire.Number = 4
	// FieldSnapshotDeltaMoved is SnapshotDelta.moved (repeated sint32).
	FieldSnapshotDeltaMoved protowire.Number = 5
	// FieldSnapshotDeltaHP is SnapshotDelta.hp (repeated uint32).
	FieldSnapshotDeltaHP protowire.Number = 6
	// FieldSnapshotDeltaScore is SnapshotDelta.score (repeated uint32).
	FieldSnapshotDeltaScore protowire.Number = 7
	// FieldSnapshotDeltaLastInputSeq is SnapshotDelta.last_input_seq
	// (uint32).
	FieldSnapshotDeltaLastInputSeq protowire.Number = 8
	// FieldSnapshotDeltaInputBacklog is SnapshotDelta.input_backlog
	// (uint32).
	FieldSnapshotDeltaInputBacklog protowire.Number = 9
)

// Field numbers of Entity.
const (
	// FieldEntityID is Entity.id (uint32).
	FieldEntityID protowire.Number = 1
	// FieldEntityX is Entity.x (sint32).
	FieldEntityX protowire.Number = 2
	// FieldEntityY is Entity.y (sint32).
	FieldEntityY protowire.Number = 3
	// FieldEntityHP is Entity.hp (uint32).
	FieldEntityHP protowire.Number = 4
	// FieldEntityScore is Entity.score (uint32).
	FieldEntityScore protowire.Number = 5
	// FieldEntityLastInputSeq is Entity.last_input_seq (uint32).
	FieldEntityLastInputSeq protowire.Number = 6
	// FieldEntityInputBacklog is Entity.input_backlog (uint32).
	FieldEntityInputBacklog protowire.Number = 7
)
