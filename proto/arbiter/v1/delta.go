package arbiterv1

// This file is hand-written, beside the generated code: the delta snapshot
// codec. The server encodes a room's snapshots once per tick (TickSnapshot:
// the full message, and the shared bodies of the delta messages, with
// DeltaEncoder) and gives each delta connection a message of its own that
// is that shared body plus the recipient's acknowledgements
// (AppendDeltaMessage); the Go client rebuilds each full Snapshot from the
// last one with ApplyDelta. Both sides take the format from here, and the
// tests beside it hold the two to each other: decoding any sequence of
// deltas gives exactly the snapshots encoded. docs/protocol.md ("Delta
// snapshots") describes the same format for clients in other languages.
// The field numbers are fields.go's, which the Go client's decoder shares.

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Errors returned by ApplyDelta.
var (
	// ErrDeltaBase: the delta is from a snapshot other than the base it
	// was applied to. A server sends a delta only from the snapshot it
	// last wrote to the connection, so on a stream connection this is a
	// protocol error.
	ErrDeltaBase = errors.New("arbiterv1: delta from another snapshot than the last one")
	// ErrBadDelta: the delta names entities that are not there or breaks
	// the format's rules.
	ErrBadDelta = errors.New("arbiterv1: malformed snapshot delta")
)

// TickSnapshot is one tick's snapshot of a room, encoded once for all the
// room's connections. Every slice is shared by every connection and never
// modified once made: a connection may hold it until its writer has sent
// it, ticks later.
type TickSnapshot struct {
	// Tick is the snapshot's tick.
	Tick uint32
	// Full is the whole ServerMessage carrying the Snapshot: every entity
	// with every player's acknowledgements. Full connections get it as is.
	// A server may leave it nil on a tick when no connection takes it, and
	// Key and Delta nil when none takes deltas.
	Full []byte
	// Key is the body of the SnapshotDelta from nothing (base_tick 0:
	// every entity added), without acknowledgements: a delta connection's
	// first snapshot, and its next one after snapshots were skipped.
	Key []byte
	// Delta is the body of the SnapshotDelta from the snapshot of tick
	// Base, without acknowledgements; nil when there is no earlier
	// snapshot (the room's first tick).
	Delta []byte
	// Base is the tick Delta is from; 0 without a Delta.
	Base uint32
}

// Ack is what a snapshot tells one player about its own inputs: its
// entity's Entity.last_input_seq and Entity.input_backlog, which a delta
// connection gets for its own entity only.
type Ack struct {
	LastInputSeq uint32
	InputBacklog uint32
}

// DeltaEncoder encodes SnapshotDelta bodies: the fields every connection
// of a room shares (all but the recipient's acknowledgements). Its
// scratch buffers are reused, so that once they have grown to a room's
// size it allocates nothing. The zero value is ready to use; it is not
// safe for concurrent use.
type DeltaEncoder struct {
	// The packed fields' payloads, built before their lengths are known.
	removed, moved, hp, score []byte
}

// AppendBody appends to dst the body of the SnapshotDelta of tick that
// turns base, the entities of the snapshot of baseTick, into cur. With
// baseTick 0 (and base ignored) it is a key: every entity of cur added.
// Neither list is modified or retained; acknowledgements are left out.
//
// The entities of cur are matched to the base's by id, in order: the
// longest prefix of cur found in base in the same order is kept (its
// changes encoded), the base's other entities are removed, and the rest
// of cur is added in full. An entity that changed places in the order is
// thus removed and added again: correct for any two lists, compact for
// the usual case, where the order does not change.
func (e *DeltaEncoder) AppendBody(dst []byte, tick, baseTick uint32, base, cur []*Entity) []byte {
	if baseTick == 0 {
		base = nil
	}
	e.removed, e.moved, e.hp, e.score = e.removed[:0], e.moved[:0], e.hp[:0], e.score[:0]
	kept, next := 0, 0 // cur[:kept] are kept; base[next:] not yet matched
	for ; kept < len(cur); kept++ {
		c := cur[kept]
		k := next
		for k < len(base) && base[k].GetId() != c.GetId() {
			k++
		}
		if k == len(base) {
			break
		}
		for ; next < k; next++ {
			e.removed = protowire.AppendVarint(e.removed, uint64(next))
		}
		next = k + 1
		b := base[k]
		if c.GetX() != b.GetX() || c.GetY() != b.GetY() {
			// Differences in 32-bit two's complement: exact for any
			// positions, small for the usual step.
			dx := int32(uint32(c.GetX()) - uint32(b.GetX()))
			dy := int32(uint32(c.GetY()) - uint32(b.GetY()))
			e.moved = appendSint32(e.moved, int32(kept))
			e.moved = appendSint32(e.moved, dx)
			e.moved = appendSint32(e.moved, dy)
		}
		if c.GetHp() != b.GetHp() {
			e.hp = protowire.AppendVarint(e.hp, uint64(kept))
			e.hp = protowire.AppendVarint(e.hp, uint64(c.GetHp()))
		}
		if c.GetScore() != b.GetScore() {
			e.score = protowire.AppendVarint(e.score, uint64(kept))
			e.score = protowire.AppendVarint(e.score, uint64(c.GetScore()))
		}
	}
	for ; next < len(base); next++ {
		e.removed = protowire.AppendVarint(e.removed, uint64(next))
	}

	dst = appendVarintField(dst, FieldSnapshotDeltaTick, uint64(tick))
	dst = appendVarintField(dst, FieldSnapshotDeltaBaseTick, uint64(baseTick))
	dst = appendPacked(dst, FieldSnapshotDeltaRemoved, e.removed)
	for _, c := range cur[kept:] {
		dst = protowire.AppendTag(dst, FieldSnapshotDeltaAdded, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(entitySize(c)))
		dst = appendEntity(dst, c)
	}
	dst = appendPacked(dst, FieldSnapshotDeltaMoved, e.moved)
	dst = appendPacked(dst, FieldSnapshotDeltaHP, e.hp)
	return appendPacked(dst, FieldSnapshotDeltaScore, e.score)
}

// AppendDeltaMessage appends to dst the ServerMessage carrying the
// SnapshotDelta made of body (from DeltaEncoder.AppendBody) and the
// recipient's own acknowledgements: one connection's message. Protobuf
// merges a message's fields in any order, so the recipient's two fields
// simply follow the shared ones.
func AppendDeltaMessage(dst, body []byte, own Ack) []byte {
	dst = protowire.AppendTag(dst, FieldServerMessageSnapshotDelta, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(len(body)+ackSize(own)))
	dst = append(dst, body...)
	dst = appendVarintField(dst, FieldSnapshotDeltaLastInputSeq, uint64(own.LastInputSeq))
	return appendVarintField(dst, FieldSnapshotDeltaInputBacklog, uint64(own.InputBacklog))
}

// DeltaMessageSize returns len(AppendDeltaMessage(nil, body, own)).
func DeltaMessageSize(body []byte, own Ack) int {
	n := len(body) + ackSize(own)
	return protowire.SizeTag(FieldServerMessageSnapshotDelta) + protowire.SizeVarint(uint64(n)) + n
}

// ApplyDelta returns the snapshot that d makes of base, the connection's
// last snapshot (nil before the first; ignored when d is a key, base_tick
// 0). The result is new: base is neither modified nor shared. Its
// entities carry last_input_seq and input_backlog only where their id is
// self, the recipient's own entity; the others' are 0. A delta from
// another tick than base's is ErrDeltaBase; one that names entities that
// are not there, or breaks the format, ErrBadDelta.
func ApplyDelta(base *Snapshot, d *SnapshotDelta, self uint32) (*Snapshot, error) {
	var from []*Entity
	if bt := d.GetBaseTick(); bt != 0 {
		if base == nil {
			return nil, fmt.Errorf("%w: delta from tick %d before any snapshot", ErrDeltaBase, bt)
		}
		if base.GetTick() != bt {
			return nil, fmt.Errorf("%w: delta from tick %d, last snapshot %d", ErrDeltaBase, bt, base.GetTick())
		}
		from = base.GetEntities()
	}
	removed := d.GetRemoved()
	for i, r := range removed {
		if uint64(r) >= uint64(len(from)) || (i > 0 && r <= removed[i-1]) {
			return nil, fmt.Errorf("%w: removed index %d of %d, after %v", ErrBadDelta, r, len(from), removed[:i])
		}
	}
	kept := len(from) - len(removed)
	n := kept + len(d.GetAdded())
	store := make([]Entity, n)
	out := &Snapshot{Tick: d.GetTick(), Entities: make([]*Entity, n)}
	k := 0
	for i, b := range from {
		if len(removed) > 0 && uint64(removed[0]) == uint64(i) {
			removed = removed[1:]
			continue
		}
		e := &store[k]
		e.Id, e.X, e.Y, e.Hp, e.Score = b.GetId(), b.GetX(), b.GetY(), b.GetHp(), b.GetScore()
		out.Entities[k] = e
		k++
	}
	for i, a := range d.GetAdded() {
		e := &store[kept+i]
		e.Id, e.X, e.Y, e.Hp, e.Score = a.GetId(), a.GetX(), a.GetY(), a.GetHp(), a.GetScore()
		out.Entities[kept+i] = e
	}
	moved := d.GetMoved()
	if len(moved)%3 != 0 {
		return nil, fmt.Errorf("%w: %d numbers in moved, not triples", ErrBadDelta, len(moved))
	}
	for i := 0; i < len(moved); i += 3 {
		idx := moved[i]
		if idx < 0 || int(idx) >= kept {
			return nil, fmt.Errorf("%w: moved index %d of %d kept", ErrBadDelta, idx, kept)
		}
		e := &store[idx]
		e.X = int32(uint32(e.X) + uint32(moved[i+1]))
		e.Y = int32(uint32(e.Y) + uint32(moved[i+2]))
	}
	if err := applyPairs(store[:kept], d.GetHp(), "hp", func(e *Entity, v uint32) { e.Hp = v }); err != nil {
		return nil, err
	}
	if err := applyPairs(store[:kept], d.GetScore(), "score", func(e *Entity, v uint32) { e.Score = v }); err != nil {
		return nil, err
	}
	for i := range store {
		if e := &store[i]; e.Id == self {
			e.LastInputSeq, e.InputBacklog = d.GetLastInputSeq(), d.GetInputBacklog()
		}
	}
	return out, nil
}

// applyPairs applies pairs (index, value) to the kept entities with set.
func applyPairs(kept []Entity, pairs []uint32, field string, set func(*Entity, uint32)) error {
	if len(pairs)%2 != 0 {
		return fmt.Errorf("%w: %d numbers in %s, not pairs", ErrBadDelta, len(pairs), field)
	}
	for i := 0; i < len(pairs); i += 2 {
		idx := pairs[i]
		if uint64(idx) >= uint64(len(kept)) {
			return fmt.Errorf("%w: %s index %d of %d kept", ErrBadDelta, field, idx, len(kept))
		}
		set(&kept[idx], pairs[i+1])
	}
	return nil
}

// entitySize is the encoded size of e without its acknowledgements.
func entitySize(e *Entity) int {
	return varintFieldSize(FieldEntityID, uint64(e.GetId())) +
		varintFieldSize(FieldEntityX, protowire.EncodeZigZag(int64(e.GetX()))) +
		varintFieldSize(FieldEntityY, protowire.EncodeZigZag(int64(e.GetY()))) +
		varintFieldSize(FieldEntityHP, uint64(e.GetHp())) +
		varintFieldSize(FieldEntityScore, uint64(e.GetScore()))
}

// appendEntity appends e's fields without its acknowledgements.
func appendEntity(dst []byte, e *Entity) []byte {
	dst = appendVarintField(dst, FieldEntityID, uint64(e.GetId()))
	dst = appendVarintField(dst, FieldEntityX, protowire.EncodeZigZag(int64(e.GetX())))
	dst = appendVarintField(dst, FieldEntityY, protowire.EncodeZigZag(int64(e.GetY())))
	dst = appendVarintField(dst, FieldEntityHP, uint64(e.GetHp()))
	return appendVarintField(dst, FieldEntityScore, uint64(e.GetScore()))
}

func ackSize(own Ack) int {
	return varintFieldSize(FieldSnapshotDeltaLastInputSeq, uint64(own.LastInputSeq)) +
		varintFieldSize(FieldSnapshotDeltaInputBacklog, uint64(own.InputBacklog))
}

// appendVarintField appends a varint field, or nothing for 0 (proto3
// leaves zero scalars out).
func appendVarintField(dst []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.VarintType)
	return protowire.AppendVarint(dst, v)
}

func varintFieldSize(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

// appendPacked appends a packed repeated field of the varints in payload,
// or nothing if it is empty.
func appendPacked(dst []byte, num protowire.Number, payload []byte) []byte {
	if len(payload) == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendBytes(dst, payload)
}

func appendSint32(dst []byte, v int32) []byte {
	return protowire.AppendVarint(dst, protowire.EncodeZigZag(int64(v)))
}
