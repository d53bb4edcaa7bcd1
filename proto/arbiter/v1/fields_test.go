package arbiterv1

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fieldNumbers lists every constant of fields.go with the field of
// arbiter.proto it stands for and that field's kind and cardinality, which
// the hand-written codecs take for granted as much as the number (a sint32
// is zigzagged, a repeated field packed).
var fieldNumbers = []struct {
	name     string // the constant's name, as fields.go spells it
	give     protowire.Number
	msg      protoreflect.ProtoMessage
	field    protoreflect.Name
	kind     protoreflect.Kind
	repeated bool
}{
	{"FieldClientMessageInput", FieldClientMessageInput, &ClientMessage{}, "input", protoreflect.MessageKind, false},
	{"FieldClientMessagePing", FieldClientMessagePing, &ClientMessage{}, "ping", protoreflect.MessageKind, false},
	{"FieldClientMessageAction", FieldClientMessageAction, &ClientMessage{}, "action", protoreflect.MessageKind, false},

	{"FieldInputSeq", FieldInputSeq, &Input{}, "seq", protoreflect.Uint32Kind, false},
	{"FieldInputMoveX", FieldInputMoveX, &Input{}, "move_x", protoreflect.Sint32Kind, false},
	{"FieldInputMoveY", FieldInputMoveY, &Input{}, "move_y", protoreflect.Sint32Kind, false},
	{"FieldInputButtons", FieldInputButtons, &Input{}, "buttons", protoreflect.Uint32Kind, false},
	{"FieldInputAimX", FieldInputAimX, &Input{}, "aim_x", protoreflect.Sint32Kind, false},
	{"FieldInputAimY", FieldInputAimY, &Input{}, "aim_y", protoreflect.Sint32Kind, false},
	{"FieldInputViewTick", FieldInputViewTick, &Input{}, "view_tick", protoreflect.Uint32Kind, false},

	{"FieldPingClientTime", FieldPingClientTime, &Ping{}, "client_time", protoreflect.Uint64Kind, false},

	{"FieldActionSeq", FieldActionSeq, &Action{}, "seq", protoreflect.Uint32Kind, false},
	{"FieldActionPayload", FieldActionPayload, &Action{}, "payload", protoreflect.BytesKind, false},

	{"FieldServerMessageSnapshot", FieldServerMessageSnapshot, &ServerMessage{}, "snapshot", protoreflect.MessageKind, false},
	{"FieldServerMessageSnapshotDelta", FieldServerMessageSnapshotDelta, &ServerMessage{}, "snapshot_delta", protoreflect.MessageKind, false},

	{"FieldSnapshotTick", FieldSnapshotTick, &Snapshot{}, "tick", protoreflect.Uint32Kind, false},
	{"FieldSnapshotEntities", FieldSnapshotEntities, &Snapshot{}, "entities", protoreflect.MessageKind, true},

	{"FieldSnapshotDeltaTick", FieldSnapshotDeltaTick, &SnapshotDelta{}, "tick", protoreflect.Uint32Kind, false},
	{"FieldSnapshotDeltaBaseTick", FieldSnapshotDeltaBaseTick, &SnapshotDelta{}, "base_tick", protoreflect.Uint32Kind, false},
	{"FieldSnapshotDeltaRemoved", FieldSnapshotDeltaRemoved, &SnapshotDelta{}, "removed", protoreflect.Uint32Kind, true},
	{"FieldSnapshotDeltaAdded", FieldSnapshotDeltaAdded, &SnapshotDelta{}, "added", protoreflect.MessageKind, true},
	{"FieldSnapshotDeltaMoved", FieldSnapshotDeltaMoved, &SnapshotDelta{}, "moved", protoreflect.Sint32Kind, true},
	{"FieldSnapshotDeltaHP", FieldSnapshotDeltaHP, &SnapshotDelta{}, "hp", protoreflect.Uint32Kind, true},
	{"FieldSnapshotDeltaScore", FieldSnapshotDeltaScore, &SnapshotDelta{}, "score", protoreflect.Uint32Kind, true},
	{"FieldSnapshotDeltaLastInputSeq", FieldSnapshotDeltaLastInputSeq, &SnapshotDelta{}, "last_input_seq", protoreflect.Uint32Kind, false},
	{"FieldSnapshotDeltaInputBacklog", FieldSnapshotDeltaInputBacklog, &SnapshotDelta{}, "input_backlog", protoreflect.Uint32Kind, false},

	{"FieldEntityID", FieldEntityID, &Entity{}, "id", protoreflect.Uint32Kind, false},
	{"FieldEntityX", FieldEntityX, &Entity{}, "x", protoreflect.Sint32Kind, false},
	{"FieldEntityY", FieldEntityY, &Entity{}, "y", protoreflect.Sint32Kind, false},
	{"FieldEntityHP", FieldEntityHP, &Entity{}, "hp", protoreflect.Uint32Kind, false},
	{"FieldEntityScore", FieldEntityScore, &Entity{}, "score", protoreflect.Uint32Kind, false},
	{"FieldEntityLastInputSeq", FieldEntityLastInputSeq, &Entity{}, "last_input_seq", protoreflect.Uint32Kind, false},
	{"FieldEntityInputBacklog", FieldEntityInputBacklog, &Entity{}, "input_backlog", protoreflect.Uint32Kind, false},
}

// decodedWhole are the messages some hand-written decoder decodes field
// by field (netcode's ClientMessage decoder, the Go client's snapshot
// frames), where a field it has no constant for would be skipped or sent
// to the slow path unseen: every field they have needs a constant, and
// the codecs a look, before it goes on the wire. Of ServerMessage only
// the snapshots are decoded by hand; the rest goes to proto.Unmarshal.
var decodedWhole = []protoreflect.ProtoMessage{
	&ClientMessage{}, &Input{}, &Ping{}, &Action{},
	&Snapshot{}, &SnapshotDelta{}, &Entity{},
}

// TestFieldNumbers holds every constant of fields.go to the generated
// descriptors: its field's number, kind and cardinality.
func TestFieldNumbers(t *testing.T) {
	for _, tt := range fieldNumbers {
		md := tt.msg.ProtoReflect().Descriptor()
		t.Run(tt.name, func(t *testing.T) {
			fd := md.Fields().ByName(tt.field)
			if fd == nil {
				t.Fatalf("%s has no field %s", md.FullName(), tt.field)
			}
			if fd.Number() != tt.give {
				t.Errorf("%s = %d, want %d (%s)", tt.name, tt.give, fd.Number(), fd.FullName())
			}
			if fd.Kind() != tt.kind || fd.IsList() != tt.repeated {
				t.Errorf("%s is %v (repeated %t), the codecs take it for %v (repeated %t)",
					fd.FullName(), fd.Kind(), fd.IsList(), tt.kind, tt.repeated)
			}
		})
	}
}

// TestFieldNumbersComplete: every field of a message decoded by hand has a
// constant, so adding one to arbiter.proto fails here until the codecs
// know it.
func TestFieldNumbersComplete(t *testing.T) {
	have := make(map[protoreflect.FullName]bool)
	for _, tt := range fieldNumbers {
		have[tt.msg.ProtoReflect().Descriptor().FullName().Append(tt.field)] = true
	}
	for _, m := range decodedWhole {
		fields := m.ProtoReflect().Descriptor().Fields()
		for i := range fields.Len() {
			if fd := fields.Get(i); !have[fd.FullName()] {
				t.Errorf("%s (%d) has no constant in fields.go: add one, and teach the hand-written codecs the field", fd.FullName(), fd.Number())
			}
		}
	}
}

// TestFieldNumbersListed: fieldNumbers lists every constant that fields.go
// declares, each under its own name, so none escapes TestFieldNumbers.
func TestFieldNumbersListed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "fields.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	declared := make(map[string]string) // name: the literal it is declared as
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				declared[n.Name] = "?"
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
						declared[n.Name] = lit.Value
					}
				}
			}
		}
	}
	listed := make(map[string]bool)
	for _, tt := range fieldNumbers {
		if listed[tt.name] {
			t.Errorf("%s listed twice in fieldNumbers", tt.name)
		}
		listed[tt.name] = true
		lit, ok := declared[tt.name]
		switch {
		case !ok:
			t.Errorf("fieldNumbers lists %s, which fields.go does not declare", tt.name)
		case lit != strconv.Itoa(int(tt.give)):
			t.Errorf("fieldNumbers lists %s as %d, fields.go declares it %s", tt.name, tt.give, lit)
		}
	}
	for name := range declared {
		if !listed[name] {
			t.Errorf("fields.go declares %s, which fieldNumbers does not list: TestFieldNumbers does not check it", name)
		}
	}
	if len(declared) == 0 {
		t.Error("no constants found in fields.go")
	}
}
