package match

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk := NewTokens([]byte("secret"))
	tk.now = func() time.Time { return now }
	other := NewTokens([]byte("other secret"))
	other.now = tk.now

	join := tk.Join("p1", "m1", now.Add(time.Minute))
	got, err := tk.VerifyJoin(join)
	if err != nil || got.PlayerID != "p1" || got.MatchID != "m1" {
		t.Fatalf("VerifyJoin(genuine) = %+v, %v; want p1/m1", got, err)
	}
	bearer := tk.Player("p1", now.Add(time.Minute))
	if id, err := tk.VerifyPlayer(bearer); err != nil || id != "p1" {
		t.Fatalf("VerifyPlayer(genuine) = %q, %v", id, err)
	}

	tamper := []byte(join)
	tamper[3] ^= 1
	tests := []struct {
		name string
		give func() error
		want error
	}{
		{"join as bearer", func() error { _, err := tk.VerifyPlayer(join); return err }, ErrTokenInvalid},
		{"bearer as join", func() error { _, err := tk.VerifyJoin(bearer); return err }, ErrTokenInvalid},
		{"other secret", func() error { _, err := other.VerifyJoin(join); return err }, ErrTokenInvalid},
		{"tampered", func() error { _, err := tk.VerifyJoin(string(tamper)); return err }, ErrTokenInvalid},
		{"empty", func() error { _, err := tk.VerifyJoin(""); return err }, ErrTokenInvalid},
		{"no signature", func() error { _, err := tk.VerifyJoin(strings.Split(join, ".")[0]); return err }, ErrTokenInvalid},
		{"huge", func() error { _, err := tk.VerifyJoin(strings.Repeat("a", 5000)); return err }, ErrTokenInvalid},
		{"CR inside", func() error { _, err := tk.VerifyJoin(join[:10] + "\r" + join[10:]); return err }, ErrTokenInvalid},
		{"LF in signature", func() error { _, err := tk.VerifyJoin(join[:len(join)-4] + "\n" + join[len(join)-4:]); return err }, ErrTokenInvalid},
		{"two dots", func() error { _, err := tk.VerifyJoin(join + ".x"); return err }, ErrTokenInvalid},
		{"expired", func() error {
			_, err := tk.VerifyJoin(tk.Join("p1", "m1", now))
			return err
		}, ErrTokenExpired},
	}
	for _, tt := range tests {
		if err := tt.give(); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzVerifyJoin(f *testing.F) {
	tk := NewTokens([]byte("k"))
	f.Add(tk.Join("p", "m", time.Now().Add(time.Hour)))
	f.Add("a.b")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tk.VerifyJoin(s)
		if err == nil && tk.Join(c.PlayerID, c.MatchID, c.Expires) != s {
			t.Errorf("VerifyJoin accepted %q, which is not what Join produces for %+v", s, c)
		}
	})
}
