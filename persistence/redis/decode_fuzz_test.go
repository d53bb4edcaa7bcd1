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
