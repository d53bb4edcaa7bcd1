package client

// This file is the arena's hot wire path, encoded and decoded by hand: the
// input frame a client sends every tick, and the snapshot (or snapshot
// delta) frame it receives every tick. Through the generic protobuf
// runtime each took a reflective walk and, for a snapshot, a dozen
// allocations or more, which a load generator running a thousand clients
// pays 30,000 times a second. The results are exactly protobuf's: the
// input frame is byte for byte what proto.Marshal writes (TestInputFrame),
// and a frame the fast decoder takes decodes to what proto.Unmarshal makes
// of it (FuzzSnapshotFrame); anything else — another message, an unknown
// or repeated field, a wire type the message does not declare, a
// malformed frame — it leaves to proto.Unmarshal, so errors and oddities
// are handled as before. The field numbers are arbiterv1's (fields.go),
// which tests there hold to arbiter.proto.

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// inputNumbers are Input's field numbers in increasing order, the order
// in which proto.Marshal writes them, and inputFields's.
var inputNumbers = [...]protowire.Number{
	arbiterv1.FieldInputSeq,
	arbiterv1.FieldInputMoveX,
	arbiterv1.FieldInputMoveY,
	arbiterv1.FieldInputButtons,
	arbiterv1.FieldInputAimX,
	arbiterv1.FieldInputAimY,
	arbiterv1.FieldInputViewTick,
}

// inputFields are an Input's fields in the order of inputNumbers, as
// varints (sint32 ones zigzagged); zero ones are left out, as proto3 does.
func inputFields(in *arbiterv1.Input) [len(inputNumbers)]uint64 {
	return [len(inputNumbers)]uint64{
		uint64(in.GetSeq()),
		protowire.EncodeZigZag(int64(in.GetMoveX())),
		protowire.EncodeZigZag(int64(in.GetMoveY())),
		uint64(in.GetButtons()),
		protowire.EncodeZigZag(int64(in.GetAimX())),
		protowire.EncodeZigZag(int64(in.GetAimY())),
		uint64(in.GetViewTick()),
	}
}

// appendInputFrame appends the ClientMessage carrying in, as proto.Marshal
// encodes it.
func appendInputFrame(dst []byte, in *arbiterv1.Input) []byte {
	f := inputFields(in)
	size := 0
	for i, v := range f {
		if v != 0 {
			size += protowire.SizeTag(inputNumbers[i]) + protowire.SizeVarint(v)
		}
	}
	dst = protowire.AppendTag(dst, arbiterv1.FieldClientMessageInput, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	for i, v := range f {
		if v != 0 {
			dst = protowire.AppendTag(dst, inputNumbers[i], protowire.VarintType)
			dst = protowire.AppendVarint(dst, v)
		}
	}
	return dst
}

// wireEntity is an Entity's fields, decoded before the Entity is made.
type wireEntity struct {
	id, hp, score, lastInputSeq, inputBacklog uint32
	x, y                                      int32
}

func (w *wireEntity) set(e *arbiterv1.Entity) {
	e.Id, e.X, e.Y, e.Hp, e.Score = w.id, w.x, w.y, w.hp, w.score
	e.LastInputSeq, e.InputBacklog = w.lastInputSeq, w.inputBacklog
}

// frameDecoder decodes the snapshot frames of the arena without the
// protobuf runtime, reusing its buffers: a snapshot delta allocates
// nothing but the snapshot it makes (ApplyDelta), a full snapshot nothing
// but itself. It belongs to the Client's reader.
type frameDecoder struct {
	// welcomed reports that the reader has taken the Welcome (and closed
	// Client.welcomed): the reader's own copy of the fact, read at every
	// frame.
	welcomed bool

	delta    arbiterv1.SnapshotDelta // the last delta decoded; its slices are the buffers below
	removed  []uint32
	moved    []int32
	hp       []uint32
	score    []uint32
	ents     []wireEntity // the entities of the frame being decoded
	added    []arbiterv1.Entity
	addedPtr []*arbiterv1.Entity
}

// maxKeptEntities bounds the entities whose buffers a frameDecoder keeps
// from one frame to the next: a hostile server's huge frame is decoded
// once, and its buffers are then dropped.
const maxKeptEntities = 256

// decode decodes data if it is a ServerMessage carrying exactly one
// snapshot or snapshot delta, every field of which is one the message
// declares, with its declared wire type (a repeated number packed or
// not). It returns the snapshot (new, the caller's) or the delta (the
// decoder's, valid until the next call), or ok false for anything else,
// which the caller decodes with proto.Unmarshal.
func (fd *frameDecoder) decode(data []byte) (s *arbiterv1.Snapshot, d *arbiterv1.SnapshotDelta, ok bool) {
	num, typ, n := protowire.ConsumeTag(data)
	if n < 0 || typ != protowire.BytesType {
		return nil, nil, false
	}
	body, m := protowire.ConsumeBytes(data[n:])
	if m < 0 || n+m != len(data) {
		return nil, nil, false // malformed, or more fields than one
	}
	defer fd.trim()
	switch num {
	case arbiterv1.FieldServerMessageSnapshot:
		s, ok = fd.snapshot(body)
		return s, nil, ok
	case arbiterv1.FieldServerMessageSnapshotDelta:
		ok = fd.snapshotDelta(body)
		if !ok {
			return nil, nil, false
		}
		return nil, &fd.delta, true
	}
	return nil, nil, false
}

// trim drops buffers grown past maxKeptEntities.
func (fd *frameDecoder) trim() {
	if cap(fd.ents) > maxKeptEntities {
		fd.ents = nil
	}
	if cap(fd.added) > maxKeptEntities {
		fd.added, fd.addedPtr = nil, nil
	}
	if cap(fd.removed) > maxKeptEntities || cap(fd.hp) > 2*maxKeptEntities ||
		cap(fd.score) > 2*maxKeptEntities || cap(fd.moved) > 3*maxKeptEntities {
		fd.removed, fd.moved, fd.hp, fd.score = nil, nil, nil, nil
	}
}

// snapshot decodes a Snapshot's body into a new Snapshot.
func (fd *frameDecoder) snapshot(b []byte) (*arbiterv1.Snapshot, bool) {
	var tick uint32
	fd.ents = fd.ents[:0]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		switch {
		case num == arbiterv1.FieldSnapshotTick && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, false
			}
			tick, b = uint32(v), b[n:]
		case num == arbiterv1.FieldSnapshotEntities && typ == protowire.BytesType:
			e, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, false
			}
			b = b[n:]
			if !fd.entity(e) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	// One allocation for the entities, one for the pointers to them.
	store := make([]arbiterv1.Entity, len(fd.ents))
	s := &arbiterv1.Snapshot{Tick: tick}
	if len(fd.ents) > 0 {
		s.Entities = make([]*arbiterv1.Entity, len(fd.ents))
	}
	for i := range fd.ents {
		fd.ents[i].set(&store[i])
		s.Entities[i] = &store[i]
	}
	return s, true
}

// entity decodes an Entity's body and appends it to fd.ents.
func (fd *frameDecoder) entity(b []byte) bool {
	var w wireEntity
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.VarintType {
			return false
		}
		b = b[n:]
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch num {
		case arbiterv1.FieldEntityID:
			w.id = uint32(v)
		case arbiterv1.FieldEntityX:
			w.x = sint32(v)
		case arbiterv1.FieldEntityY:
			w.y = sint32(v)
		case arbiterv1.FieldEntityHP:
			w.hp = uint32(v)
		case arbiterv1.FieldEntityScore:
			w.score = uint32(v)
		case arbiterv1.FieldEntityLastInputSeq:
			w.lastInputSeq = uint32(v)
		case arbiterv1.FieldEntityInputBacklog:
			w.inputBacklog = uint32(v)
		default:
			return false
		}
	}
	fd.ents = append(fd.ents, w)
	return true
}

// sint32 decodes a sint32 varint as protobuf does (the low 32 bits).
func sint32(v uint64) int32 { return int32(protowire.DecodeZigZag(v & math.MaxUint32)) }

// snapshotDelta decodes a SnapshotDelta's body into fd.delta.
func (fd *frameDecoder) snapshotDelta(b []byte) bool {
	d := &fd.delta
	fd.removed, fd.moved, fd.hp, fd.score = fd.removed[:0], fd.moved[:0], fd.hp[:0], fd.score[:0]
	fd.ents = fd.ents[:0]
	var tick, base, ack, backlog uint32
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		var ok bool
		switch num {
		case arbiterv1.FieldSnapshotDeltaTick, arbiterv1.FieldSnapshotDeltaBaseTick, arbiterv1.FieldSnapshotDeltaLastInputSeq, arbiterv1.FieldSnapshotDeltaInputBacklog:
			if typ != protowire.VarintType {
				return false
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return false
			}
			b, ok = b[n:], true
			switch num {
			case arbiterv1.FieldSnapshotDeltaTick:
				tick = uint32(v)
			case arbiterv1.FieldSnapshotDeltaBaseTick:
				base = uint32(v)
			case arbiterv1.FieldSnapshotDeltaLastInputSeq:
				ack = uint32(v)
			default:
				backlog = uint32(v)
			}
		case arbiterv1.FieldSnapshotDeltaAdded:
			if typ != protowire.BytesType {
				return false
			}
			e, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return false
			}
			b, ok = b[n:], fd.entity(e)
		case arbiterv1.FieldSnapshotDeltaRemoved:
			b, ok = consumeNumbers(b, typ, func(v uint64) { fd.removed = append(fd.removed, uint32(v)) })
		case arbiterv1.FieldSnapshotDeltaMoved:
			b, ok = consumeNumbers(b, typ, func(v uint64) { fd.moved = append(fd.moved, sint32(v)) })
		case arbiterv1.FieldSnapshotDeltaHP:
			b, ok = consumeNumbers(b, typ, func(v uint64) { fd.hp = append(fd.hp, uint32(v)) })
		case arbiterv1.FieldSnapshotDeltaScore:
			b, ok = consumeNumbers(b, typ, func(v uint64) { fd.score = append(fd.score, uint32(v)) })
		}
		if !ok {
			return false
		}
	}
	if cap(fd.added) < len(fd.ents) {
		fd.added = make([]arbiterv1.Entity, len(fd.ents))
		fd.addedPtr = make([]*arbiterv1.Entity, len(fd.ents))
	}
	added := fd.addedPtr[:len(fd.ents)]
	for i := range fd.ents {
		e := &fd.added[i]
		fd.ents[i].set(e)
		added[i] = e
	}
	// The slices are nil where protobuf leaves them nil: none of the field.
	d.Tick, d.BaseTick, d.LastInputSeq, d.InputBacklog = tick, base, ack, backlog
	d.Removed, d.Added, d.Moved, d.Hp, d.Score = orNil(fd.removed), orNil(added), orNil(fd.moved), orNil(fd.hp), orNil(fd.score)
	return true
}

// orNil returns s, or nil if it is empty.
func orNil[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// consumeNumbers consumes one occurrence of a repeated varint field of
// wire type typ, packed or not, calling add for each number. It returns
// the rest of b, or ok false if the field is malformed or of another wire
// type.
func consumeNumbers(b []byte, typ protowire.Type, add func(uint64)) (rest []byte, ok bool) {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, false
		}
		add(v)
		return b[n:], true
	case protowire.BytesType:
		p, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, false
		}
		for len(p) > 0 {
			v, m := protowire.ConsumeVarint(p)
			if m < 0 {
				return nil, false
			}
			add(v)
			p = p[m:]
		}
		return b[n:], true
	}
	return nil, false
}
