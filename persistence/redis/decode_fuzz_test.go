package redis

import (
	"encoding/json"
	"testing"

	"github.com/arbiter-gg/arbiter/persistence"
	goredis "github.com/redis/go-redis/v9"
)

// FuzzDecodeRecord: whatever the archive stream holds (another version's
// records, a hand-made XADD, corruption), decoding never panics; a record
// it accepts adds exactly one entry to the batch and one it refuses adds
// none (it goes to the dead-letter stream).
func FuzzDecodeRecord(f *testing.F) {
	settlement, _ := json.Marshal(benchSettlement(1, 2))
	f.Add(kindSettle, string(settlement))
	recorded := benchSettlement(1, 2)
	recorded.Result.Record = []byte(`{"moves":["e2e4"],"pgn":"1. e4 *\n","fen":"x"}`)
	settlement, _ = json.Marshal(recorded)
	f.Add(kindSettle, string(settlement))
	f.Add(kindSettle, `{"Result":{"MatchID":"m","Record":"bm90IGpzb24="}}`) // base64 of what is not JSON
	f.Add(kindPlayer, `{"ID":"p1","Name":"Ada","CreatedAt":"2030-01-02T03:04:05Z"}`)
	f.Add(kindEvent, `{"MatchID":"m","PlayerID":"p","Tick":4294967295,"Violations":{"speed":3}}`)
	f.Add(kindSettle, `{"Result":{"Players":[{"Score":-1}]}}`)
	f.Add("", "")
	f.Add(kindPlayer, "null")
	f.Fuzz(func(t *testing.T, kind, v string) {
		var b persistence.Batch
		err := decode(goredis.XMessage{ID: "1-0", Values: map[string]any{"k": kind, "v": v}}, &b)
		if got := b.Len(); (err == nil && got != 1) || (err != nil && got != 0) {
			t.Fatalf("decode(%q, %q) = %v with %d records in the batch", kind, v, err, got)
		}
	})
}

// TestDecodeRecord: a settlement carries its game's record through the
// stream, and one queued by an older version, without the field, still
// decodes, without a record.
func TestDecodeRecord(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{"with a record", `{"Result":{"MatchID":"m","Record":"eyJtb3ZlcyI6W119"}}`, `{"moves":[]}`},
		{"older version", `{"Result":{"MatchID":"m","Mode":"duel"}}`, ""},
		{"null", `{"Result":{"MatchID":"m","Record":null}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b persistence.Batch
			if err := decode(goredis.XMessage{ID: "1-0", Values: map[string]any{"k": kindSettle, "v": tt.give}}, &b); err != nil || len(b.Settlements) != 1 {
				t.Fatalf("decode(%s) = %v, %d settlements", tt.give, err, len(b.Settlements))
			}
			if got := b.Settlements[0].Result.Record; string(got) != tt.want || (tt.want == "") != (got == nil) {
				t.Errorf("decode(%s): Record = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}
