package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestQueueUnavailable: a 503 to a new ticket (matchmaking temporarily
// unavailable) is waited out, counted and retried, up to maxUnavailable
// in a row; any other refusal ends the queueing at once.
func TestQueueUnavailable(t *testing.T) {
	tests := []struct {
		name     string
		refusals int // answers before the ticket is created
		status   int // of each refusal
		wantErr  string
		want503  uint64
	}{
		{name: "none", refusals: 0, status: http.StatusServiceUnavailable, want503: 0},
		{name: "two 503s", refusals: 2, status: http.StatusServiceUnavailable, want503: 2},
		{name: "the most waited out", refusals: maxUnavailable, status: http.StatusServiceUnavailable, want503: maxUnavailable},
		{name: "one 503 too many", refusals: maxUnavailable + 1, status: http.StatusServiceUnavailable,
			wantErr: "503 in a row", want503: maxUnavailable + 1},
		{name: "bad request", refusals: 1, status: http.StatusBadRequest, wantErr: "status 400", want503: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var posts atomic.Int64
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/matchmaking/tickets", func(w http.ResponseWriter, r *http.Request) {
				if n := posts.Add(1); n <= int64(tt.refusals) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"matchmaking is temporarily unavailable; retry later"}}`))
					return
				}
				writeTestJSON(w, http.StatusCreated, ticket{TicketID: "t1", Status: "searching"})
			})
			mux.HandleFunc("GET /v1/matchmaking/tickets/t1", func(w http.ResponseWriter, r *http.Request) {
				writeTestJSON(w, http.StatusOK, ticket{TicketID: "t1", Status: "matched", MatchID: "m1", WSURL: "ws://x/v1/play?token=j"})
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			base, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			l, err := newLobby(base, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			l.unavailableWait = time.Millisecond

			tk, err := l.queue(t.Context(), guest{PlayerID: "p1", Token: "tok"}, "chess")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("queue = %v, want a matched ticket", err)
			case tt.wantErr == "" && tk.MatchID != "m1":
				t.Errorf("queue = %+v, want match m1", tk)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("queue = %v, want an error containing %q", err, tt.wantErr)
			}
			if got := l.unavailable.Load(); got != tt.want503 {
				t.Errorf("unavailable = %d, want %d", got, tt.want503)
			}
		})
	}
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
