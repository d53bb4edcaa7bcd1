// Package jsonappend appends the JSON that encoding/json writes for a
// string or an instant, byte for byte, without its allocations, for the
// values it can write that way; it reports false for the others, which
// the caller hands to encoding/json. Live-game saves use it on every move
// (match/chess's snapshot, persistence/redis's stored game), where
// json.Marshal's buffers were a large part of a chess server's garbage.
package jsonappend

import "time"

// String appends s as a JSON string if encoding/json writes it as it is,
// quoted: printable ASCII without the characters it escapes ('"', '\\',
// and '<', '>', '&', which Marshal escapes for HTML). Otherwise it returns
// dst unchanged and false.
func String(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return dst, false
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), true
}

// Time appends t as time.Time.MarshalJSON writes it (RFC 3339 with
// nanoseconds, quoted), for the instants it accepts (years 0–9999, zone
// offsets under 24 hours); for others it returns dst unchanged and false.
func Time(dst []byte, t time.Time) ([]byte, bool) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off <= -24*3600 || off >= 24*3600 {
		return dst, false
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), true
}
