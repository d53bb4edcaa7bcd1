package netcode

import (
	"testing"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// TestDecodeClientMessage: decodeClientMessage agrees with proto.Unmarshal
// on the protobuf rules a hand-written decoder most easily gets wrong. The
// fuzzer (FuzzFrame) checks the same agreement on arbitrary bytes.
func TestDecodeClientMessage(t *testing.T) {
	input := func(in *arbiterv1.Input) []byte {
		b, _ := proto.Marshal(in)
		return b
	}
	field := func(num protowire.Number, payload []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), payload)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	// The fields the cases use, by name; other numbers are unknown ones.
	const (
		inputMsg   = arbiterv1.FieldClientMessageInput
		pingMsg    = arbiterv1.FieldClientMessagePing
		actionMsg  = arbiterv1.FieldClientMessageAction
		actionSeq  = arbiterv1.FieldActionSeq
		payload    = arbiterv1.FieldActionPayload
		seq        = arbiterv1.FieldInputSeq
		moveX      = arbiterv1.FieldInputMoveX
		clientTime = arbiterv1.FieldPingClientTime
	)
	full := &arbiterv1.Input{Seq: 7, MoveX: -1000, MoveY: 999, Buttons: 1, AimX: -5, AimY: 1 << 20, ViewTick: 4000000000}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"input", field(inputMsg, input(full))},
		{"empty input", field(inputMsg, nil)},
		{"ping", field(pingMsg, varint(clientTime, 1<<63))},
		{"input merges into input", cat(field(inputMsg, input(full)), field(inputMsg, input(&arbiterv1.Input{Seq: 9})))},
		{"ping replaces input", cat(field(inputMsg, input(full)), field(pingMsg, varint(clientTime, 5)))},
		{"input replaces ping", cat(field(pingMsg, varint(clientTime, 5)), field(inputMsg, varint(seq, 3)))},
		{"input, ping, input starts afresh", cat(field(inputMsg, input(full)), field(pingMsg, nil), field(inputMsg, varint(seq, 3)))},
		{"last scalar wins", field(inputMsg, cat(varint(seq, 3), varint(seq, 4)))},
		{"uint32 keeps the low bits", field(inputMsg, varint(seq, 1<<32|5))},
		{"sint32 from a 64-bit varint", field(inputMsg, varint(moveX, 1<<40|3))},
		{"unknown fields skipped", cat(varint(9, 1), field(inputMsg, cat(varint(99, 1), field(8, []byte("x")), varint(seq, 2))))},
		{"known field, other wire type", field(inputMsg, cat(field(seq, []byte{1}), varint(moveX, 4)))},
		{"message field as varint", varint(inputMsg, 1)},
		{"action", field(actionMsg, cat(varint(actionSeq, 4), field(payload, []byte("move e4"))))},
		{"action replaces input", cat(field(inputMsg, input(full)), field(actionMsg, varint(actionSeq, 4)))},
		{"unknown member after action", cat(field(actionMsg, varint(actionSeq, 4)), field(4, varint(1, 1)))},
		{"group", cat(protowire.AppendTag(nil, 5, protowire.StartGroupType), varint(1, 1), protowire.AppendTag(nil, 5, protowire.EndGroupType), field(inputMsg, nil))},
		{"stray end group", protowire.AppendTag(nil, 5, protowire.EndGroupType)},
		{"field number 0", varint(0, 1)},
		{"field number over the maximum", varint(protowire.MaxValidNumber+1, 1)},
		{"field number at the maximum", cat(varint(protowire.MaxValidNumber, 1), field(inputMsg, nil))},
		// Bytes as written: 0x0a is input's tag, 0x08 seq's.
		{"truncated varint", []byte{0x0a, 0x02, 0x08, 0x80}},
		{"length past the end", []byte{0x0a, 0x05, 0x08, 0x01}},
		{"overlong varint", field(inputMsg, append([]byte{0x08}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want arbiterv1.ClientMessage
			wantErr := proto.Unmarshal(tt.b, &want)
			var got clientMessage
			got.input.Seq = 12345 // decoding must not depend on what was there
			err := decodeClientMessage(tt.b, &got)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("error = %v, proto.Unmarshal's = %v", err, wantErr)
			}
			if err != nil {
				return
			}
			switch k := want.Kind.(type) {
			case nil:
				if got.kind != kindNone {
					t.Errorf("kind = %v, want none", got.kind)
				}
			case *arbiterv1.ClientMessage_Input:
				k.Input.ProtoReflect().SetUnknown(nil)
				if got.kind != kindInput || !proto.Equal(&got.input, k.Input) {
					t.Errorf("got kind %v, %v; want input %v", got.kind, &got.input, k.Input)
				}
			case *arbiterv1.ClientMessage_Action:
				a := k.Action
				if got.kind != kindAction || got.actionSeq != a.GetSeq() || string(got.payload) != string(a.GetPayload()) {
					t.Errorf("got kind %v, action %d %q; want action %d %q", got.kind, got.actionSeq, got.payload, a.GetSeq(), a.GetPayload())
				}
			case *arbiterv1.ClientMessage_Ping:
				if got.kind != kindPing || got.clientTime != k.Ping.GetClientTime() {
					t.Errorf("got kind %v, client_time %d; want ping %d", got.kind, got.clientTime, k.Ping.GetClientTime())
				}
			}
		})
	}
}
