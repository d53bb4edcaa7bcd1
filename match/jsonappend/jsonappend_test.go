package jsonappend

import (
	"encoding/json"
	"testing"
	"time"
)

// TestString: every string String writes is what json.Marshal writes; it
// takes the IDs and notations saves hold, and refuses (leaving dst as it
// was) every string Marshal escapes. It may refuse more (non-ASCII): the
// caller's encoding/json path writes those.
func TestString(t *testing.T) {
	for _, s := range []string{"e2e4", "player-1", "a b", "0195f6c2-7a3e-7c1d-9f00-2b4a8d6e1f20"} {
		if _, ok := String(nil, s); !ok {
			t.Errorf("String(%q) refused a plain ASCII string", s)
		}
	}
	for _, s := range []string{"", "e2e4", "player-1", "a b", `q"uote`, `back\slash`, "<html>", "a&b", "tab\t", "é", "\x7f"} {
		want, _ := json.Marshal(s)
		got, ok := String([]byte("x"), s)
		if ok && string(got) != "x"+string(want) {
			t.Errorf("String(%q) = %s, want x%s", s, got, want)
		}
		if !ok && string(got) != "x" {
			t.Errorf("String(%q) refused but changed dst to %q", s, got)
		}
		if plain := string(want) == `"`+s+`"`; ok && !plain {
			t.Errorf("String(%q) wrote it as it is, but Marshal escapes it: %s", s, want)
		}
	}
}

// TestTime: every instant Time writes is what json.Marshal writes; the
// ones Marshal refuses, Time refuses.
func TestTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 12, 6, 17, 0, 0, 123456789, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 5*3600+30*60)),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600)),
	} {
		want, err := json.Marshal(tm)
		got, ok := Time(nil, tm)
		if ok != (err == nil) {
			t.Errorf("Time(%v) ok = %v, Marshal's error %v", tm, ok, err)
		}
		if ok && string(got) != string(want) {
			t.Errorf("Time(%v) = %s, want %s", tm, got, want)
		}
	}
}
