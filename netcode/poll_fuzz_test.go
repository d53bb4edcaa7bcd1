package netcode

import (
	"testing"

	"github.com/lxzan/gws"
)

// FuzzPollFrames: the polled read path parses what a client sends itself
// (gws no longer sees those bytes first), so any byte stream must be safe.
// parseClientFrame never reads past what it is given, a whole frame it
// accepts is a masked, final binary, ping or pong frame within the limit
// (125 bytes for a ping or a pong) and its buffer, and taking whole frames
// one after another from the stream never loops nor goes past its end. The frame tracker, fed the
// same bytes in two pieces or in one, ends in the same state.
func FuzzPollFrames(f *testing.F) {
	f.Add(maskedFrame(gws.OpcodeBinary, []byte{1, 2, 3}), 2, 64)
	f.Add(append(maskedFrame(gws.OpcodePing, []byte("x")), maskedFrame(gws.OpcodeBinary, make([]byte, 300))...), 7, 400)
	f.Add(append(maskedFrame(gws.OpcodeBinary, []byte{9}), maskedFrame(gws.OpcodeCloseConnection, nil)...), 3, 64)
	f.Add([]byte{0x82, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, 5, 4096)
	f.Add([]byte{0x02, 0x81, 0, 0, 0, 0, 1, 0x80, 0x81, 0, 0, 0, 0, 2}, 1, 64)
	f.Fuzz(func(t *testing.T, stream []byte, split, limit int) {
		limit = max(limit%(64<<10), 0)
		for b := stream; ; {
			op, hdr, size, verdict := parseClientFrame(b, limit)
			if verdict != frameWhole {
				break
			}
			switch {
			case op != gws.OpcodeBinary && op != gws.OpcodePing && op != gws.OpcodePong:
				t.Fatalf("accepted opcode %d", op)
			case hdr < 6 || size < 0 || hdr+size > len(b):
				t.Fatalf("frame of header %d and size %d in %d bytes", hdr, size, len(b))
			case op == gws.OpcodeBinary && size > limit, op != gws.OpcodeBinary && size > 125:
				t.Fatalf("%d frame of %d bytes over the limit %d (125 for control frames)", op, size, limit)
			case b[0]&0x80 == 0 || b[1]&0x80 == 0:
				t.Fatalf("accepted a frame not final or unmasked: % x", b[:2])
			}
			unmask(b[hdr:hdr+size], b[hdr-4:hdr])
			b = b[hdr+size:]
		}
		var whole, pieces frameTracker
		whole.feed(stream)
		split = min(max(split, 0), len(stream))
		pieces.feed(stream[:split])
		pieces.feed(stream[split:])
		if whole != pieces {
			t.Fatalf("tracker fed whole %+v, in pieces at %d %+v", whole, split, pieces)
		}
	})
}
