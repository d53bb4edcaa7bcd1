package netcode

import (
	"errors"
	"math"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// clientMessage is a decoded ClientMessage, reused for every frame of a
// session: decoding an Input allocates nothing.
type clientMessage struct {
	kind       messageKind
	input      arbiterv1.Input // when kind is kindInput
	clientTime uint64          // Ping.client_time, when kind is kindPing
	// Action.seq and Action.payload, when kind is kindAction. The payload
	// aliases the frame: it is valid until the next frame is read.
	actionSeq uint32
	payload   []byte
}

type messageKind int

const (
	kindNone messageKind = iota // the oneof is unset
	kindInput
	kindPing
	kindAction
)

var errMalformed = errors.New("malformed protobuf")

// decodeClientMessage decodes b, a protobuf ClientMessage, into m. It is
// the read side's hot path — one call per input per player per tick — and
// does what proto.Unmarshal does for this schema without its generic
// machinery and its two allocations per Input:
// the same messages decode to the same values and the same inputs fail, as
// FuzzFrame checks against proto.Unmarshal. As there: fields may come in any
// order, the last value of a scalar wins, a repeated message merges into the
// one before, a later oneof member replaces an earlier one, and unknown
// fields, or known ones with another wire type, are skipped.
func decodeClientMessage(b []byte, m *clientMessage) error {
	m.kind = kindNone
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) int {
		if typ != protowire.BytesType {
			return 0
		}
		sub, n := protowire.ConsumeBytes(v)
		if n < 0 {
			return n // malformed, whatever the field
		}
		var err error
		switch num {
		case arbiterv1.FieldClientMessageInput:
			if m.kind != kindInput {
				resetInput(&m.input)
				m.kind = kindInput
			}
			err = decodeInput(sub, &m.input)
		case arbiterv1.FieldClientMessagePing:
			if m.kind != kindPing {
				m.clientTime = 0
				m.kind = kindPing
			}
			err = decodePing(sub, &m.clientTime)
		case arbiterv1.FieldClientMessageAction:
			if m.kind != kindAction {
				m.actionSeq, m.payload = 0, nil
				m.kind = kindAction
			}
			err = decodeAction(sub, &m.actionSeq, &m.payload)
		default:
			return 0 // unknown: skipped
		}
		if err != nil {
			return -1
		}
		return n
	})
}

func resetInput(in *arbiterv1.Input) {
	in.Seq, in.MoveX, in.MoveY, in.Buttons, in.AimX, in.AimY, in.ViewTick = 0, 0, 0, 0, 0, 0, 0
}

// decodeInput merges the Input encoded in b into in.
func decodeInput(b []byte, in *arbiterv1.Input) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) int {
		if typ != protowire.VarintType {
			return 0
		}
		x, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return n // malformed, whatever the field
		}
		// uint32 fields keep the low 32 bits; sint32 fields zigzag-decode
		// them, as the protobuf runtime does.
		switch num {
		case arbiterv1.FieldInputSeq:
			in.Seq = uint32(x)
		case arbiterv1.FieldInputMoveX:
			in.MoveX = sint32(x)
		case arbiterv1.FieldInputMoveY:
			in.MoveY = sint32(x)
		case arbiterv1.FieldInputButtons:
			in.Buttons = uint32(x)
		case arbiterv1.FieldInputAimX:
			in.AimX = sint32(x)
		case arbiterv1.FieldInputAimY:
			in.AimY = sint32(x)
		case arbiterv1.FieldInputViewTick:
			in.ViewTick = uint32(x)
		default:
			return 0 // unknown: skipped
		}
		return n
	})
}

// decodePing merges the Ping encoded in b into clientTime.
func decodePing(b []byte, clientTime *uint64) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) int {
		if typ != protowire.VarintType || num != arbiterv1.FieldPingClientTime {
			return 0
		}
		x, n := protowire.ConsumeVarint(v)
		if n >= 0 {
			*clientTime = x
		}
		return n
	})
}

// decodeAction merges the Action encoded in b into seq and payload; the
// payload aliases b.
func decodeAction(b []byte, seq *uint32, payload *[]byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) int {
		switch {
		case num == arbiterv1.FieldActionSeq && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(v)
			if n >= 0 {
				*seq = uint32(x)
			}
			return n
		case num == arbiterv1.FieldActionPayload && typ == protowire.BytesType:
			p, n := protowire.ConsumeBytes(v)
			if n >= 0 {
				*payload = p
			}
			return n
		}
		return 0
	})
}

// eachField walks the fields of the message encoded in b. For each it calls
// field with the field's number, wire type and the bytes from its value on;
// field returns how many of them its value took, 0 to have the field
// skipped as unknown, or < 0 if the value is malformed.
func eachField(b []byte, field func(num protowire.Number, typ protowire.Type, v []byte) int) error {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		n = field(num, typ, b)
		if n == 0 {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
	}
	return nil
}

// consumeTag is protowire.ConsumeTag with the protobuf runtime's bound:
// field numbers above MaxValidNumber are malformed.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		return 0, 0, -1
	}
	return num, typ, n
}

func sint32(v uint64) int32 { return int32(protowire.DecodeZigZag(v & math.MaxUint32)) }
