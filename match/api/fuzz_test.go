package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/match/matchmaker/matchmakertest"
	"golang.org/x/time/rate"
)

var fuzzSeeds = []string{
	`{"name":"ada"}`,
	`{"mode":"duel"}`,
	`{"mode":"ffa"}`,
	`{"name":"` + "\u0000" + `"}`,
	`{"name":"a","name":"b"}`,
	`{"NAME":"case"}`,
	`{"mode":null}`,
	`{"mode":"duel"} {"mode":"ffa"}`,
	`{"name":"\ud800"}`,
	`[`,
	`{"a":{"b":{"c":[[[[[]]]]]}}}`,
	``,
	`null`,
	`"duel"`,
}

// checkFuzzResponse fails on a 5xx and on an error response that is not the
// error shape.
func checkFuzzResponse(t *testing.T, body []byte, rec *httptest.ResponseRecorder, okStatus int) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
	}
	if rec.Code == okStatus {
		return
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("body %q: status %d with %s, not the error shape", body, rec.Code, rec.Body)
	}
}

func FuzzGuestBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	mm := matchmaker.New(matchmaker.Config{Logger: quietLogger(), Modes: matchmakertest.Modes()}, &fakeStarter{}, testTokens)
	srv, err := api.New(api.Config{GuestRate: rate.Inf, Logger: quietLogger()}, mm, &fakePlayers{}, testTokens)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/auth/guest", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		checkFuzzResponse(t, body, rec, http.StatusCreated)
	})
}

func FuzzTicketBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	// No Run: tickets are only queued, and cancelled after each input so
	// that the next one may queue again.
	mm := matchmaker.New(matchmaker.Config{Logger: quietLogger(), Modes: matchmakertest.Modes()}, &fakeStarter{}, testTokens)
	// One player sends every input: no per-player limit, or the fuzzer
	// would soon see nothing but 429s.
	srv, err := api.New(api.Config{PlayerRate: rate.Inf, Logger: quietLogger()}, mm, &fakePlayers{}, testTokens)
	if err != nil {
		f.Fatal(err)
	}
	token := testTokens.Player("fuzzer", time.Now().Add(time.Hour))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/matchmaking/tickets", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		checkFuzzResponse(t, body, rec, http.StatusCreated)
		if rec.Code == http.StatusCreated {
			var tk struct {
				ID string `json:"ticket_id"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &tk); err != nil {
				t.Fatalf("201 body %s: %v", rec.Body, err)
			}
			if err := mm.Cancel(t.Context(), tk.ID, "fuzzer"); err != nil {
				t.Fatalf("Cancel = %v", err)
			}
		}
	})
}
