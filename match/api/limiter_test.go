package api

import (
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterBucket(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(rate.Every(time.Minute), 2, 100)
	steps := []struct {
		giveKey string
		giveAt  time.Duration
		want    bool
	}{
		{"a", 0, true},
		{"a", 0, true},
		{"a", 0, false},
		{"b", 0, true}, // its own bucket
		{"a", 30 * time.Second, false},
		{"a", 60 * time.Second, true},
		{"a", 60 * time.Second, false},
	}
	for i, st := range steps {
		got, retry := l.allow(st.giveKey, t0.Add(st.giveAt))
		if got != st.want {
			t.Fatalf("step %d: allow(%s, +%v) = %v, want %v", i, st.giveKey, st.giveAt, got, st.want)
		}
		if !got && retry < time.Second {
			t.Errorf("step %d: retry after %v, want at least 1s", i, retry)
		}
	}
}

func TestLimiterIsBounded(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(rate.Every(time.Minute), 1, 3)
	// a is limited for the next minute; b and c will have refilled.
	for _, k := range []string{"b", "c"} {
		l.allow(k, t0)
	}
	l.allow("a", t0.Add(50*time.Second))
	if ok, _ := l.allow("a", t0.Add(50*time.Second)); ok {
		t.Fatal("a not limited")
	}
	now := t0.Add(70 * time.Second)
	l.allow("d", now)
	if got := l.size(); got != 2 {
		t.Errorf("size after the sweep = %d, want 2 (a and d)", got)
	}
	if ok, _ := l.allow("a", now); ok {
		t.Error("the sweep forgot a, which was still limited")
	}
	// Many new clients at once: the map never grows past its bound.
	for i := range 100 {
		l.allow(string(rune('A'+i)), now)
		if got := l.size(); got > 3 {
			t.Fatalf("size = %d, want at most 3", got)
		}
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{give: "192.0.2.1:1234", want: "192.0.2.1"},
		{give: "[::ffff:192.0.2.1]:1234", want: "192.0.2.1"},
		{give: "[2001:db8:1:2:3:4:5:6]:443", want: "2001:db8:1:2::/64"},
		{give: "[2001:db8:1:2::9]:443", want: "2001:db8:1:2::/64"},
		{give: "[fe80::1%eth0]:80", want: "fe80::/64"},
		{give: "not an address", want: "not an address"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.give
		if got := clientKey(r); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		give string
		want bool // valid
	}{
		{"a", true},
		{"Ada Lovelace", true},
		{"名前", true},
		{"", false},
		{" ", false},
		{"a\u00a0b", false}, // no-break space is not printable by unicode.IsPrint
		{"\xff", false},
		{"a\u200bb", false}, // zero-width space, a format character
	}
	for _, tt := range tests {
		if got := checkName(tt.give) == ""; got != tt.want {
			t.Errorf("checkName(%q) valid = %v, want %v (%q)", tt.give, got, tt.want, checkName(tt.give))
		}
	}
}

func TestLimiterInf(t *testing.T) {
	l := newLimiter(rate.Inf, 1, 3)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		if ok, _ := l.allow(string(rune('A'+i%5)), now); !ok {
			t.Fatalf("allow %d with rate.Inf = false", i)
		}
	}
	if got := l.size(); got != 0 {
		t.Errorf("size with rate.Inf = %d, want 0", got)
	}
}
