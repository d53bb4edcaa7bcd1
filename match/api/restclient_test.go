package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/netcode/client/rest"
	"github.com/google/go-cmp/cmp"
)

// wireCheck holds real answers of the server against the Go client's wire
// types (package netcode/client/rest), so that a field added, renamed or
// retyped on either side fails a test.
type wireCheck struct {
	t *testing.T
	// seen is, by client type, every JSON path the server's answers have
	// filled, such as "result.players[].rating_after".
	seen map[reflect.Type]map[string]bool
}

// agree decodes body into T with unknown fields refused (the server sends
// nothing the client would drop), checks that T encodes back to the same
// JSON (the client keeps every value, in a type that holds it), and
// records the paths body filled for wireCheck.covered.
func agree[T any](w *wireCheck, what string, body []byte) T {
	w.t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		w.t.Fatalf("%s: the answer %s does not decode into %T: %v", what, body, v, err)
	}
	var raw, again any
	if err := json.Unmarshal(body, &raw); err != nil {
		w.t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &again); err != nil {
		w.t.Fatal(err)
	}
	if diff := cmp.Diff(raw, again); diff != "" {
		w.t.Errorf("%s: %T does not carry the answer through (-server +client):\n%s", what, v, diff)
	}
	typ := reflect.TypeFor[T]()
	if w.seen[typ] == nil {
		w.seen[typ] = map[string]bool{}
	}
	jsonPaths(typ, raw, "", w.seen[typ])
	return v
}

// covered checks that the answers given to agree filled every field of
// every client type: a field only the client has (one the server dropped
// or renamed) was never filled.
func (w *wireCheck) covered() {
	w.t.Helper()
	for typ, seen := range w.seen {
		want := map[string]bool{}
		fieldPaths(typ, "", want)
		for p := range want {
			if !seen[p] {
				w.t.Errorf("rest.%s has the field %q, which no answer of the server filled", typ.Name(), p)
			}
		}
	}
}

var marshaler = reflect.TypeFor[json.Marshaler]()

// jsonPaths adds to out the path of every value in v, a decoded JSON
// answer, read as typ.
func jsonPaths(typ reflect.Type, v any, prefix string, out map[string]bool) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if reflect.PointerTo(typ).Implements(marshaler) {
		return // a leaf with its own encoding, such as time.Time
	}
	switch typ.Kind() {
	case reflect.Struct:
		obj, _ := v.(map[string]any)
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := jsonName(f)
			if fv, ok := obj[name]; ok && name != "" {
				out[join(prefix, name)] = true
				jsonPaths(f.Type, fv, join(prefix, name), out)
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for _, ev := range obj {
			out[prefix+"{}"] = true
			jsonPaths(typ.Elem(), ev, prefix+"{}", out)
		}
	case reflect.Slice:
		arr, _ := v.([]any)
		for _, ev := range arr {
			out[prefix+"[]"] = true
			jsonPaths(typ.Elem(), ev, prefix+"[]", out)
		}
	}
}

// fieldPaths adds to out the path of every field of typ and of the types
// it holds.
func fieldPaths(typ reflect.Type, prefix string, out map[string]bool) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if reflect.PointerTo(typ).Implements(marshaler) {
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		for i := range typ.NumField() {
			f := typ.Field(i)
			if name := jsonName(f); name != "" {
				out[join(prefix, name)] = true
				fieldPaths(f.Type, join(prefix, name), out)
			}
		}
	case reflect.Map, reflect.Slice:
		mark := map[reflect.Kind]string{reflect.Map: "{}", reflect.Slice: "[]"}[typ.Kind()]
		out[prefix+mark] = true
		fieldPaths(typ.Elem(), prefix+mark, out)
	}
}

// join is the path of field name in prefix.
func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// jsonName is the key encoding/json gives f, or "" if it has none.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// TestClientWireTypes: every answer of the API, each with all its optional
// fields present, agrees with the Go client's wire types both ways; and the
// client's request types are what the server accepts (it refuses unknown
// fields).
func TestClientWireTypes(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ratings := &fakeRatings{}
	matches := &fakeMatches{matches: map[string]match.Summary{
		"running": {MatchID: "running", Mode: "duel", Status: match.StatusRunning, Players: []string{"p1", "p2"}, CreatedAt: created},
		"ended": {MatchID: "ended", Mode: "duel", Status: match.StatusEnded, Players: []string{"p1", "p2"}, CreatedAt: created,
			Result: &match.Result{MatchID: "ended", Mode: "duel", Reason: "score_limit", EndedAt: created.Add(time.Minute), Players: []match.PlayerResult{
				{PlayerID: "p1", Score: 10, Placement: 1, RatingBefore: 1500, RatingAfter: 1520},
				{PlayerID: "p2", Score: 3, Placement: 2, Forfeit: true, RatingBefore: 1500, RatingAfter: 1480},
			}, Record: []byte(`{"moves":["f2f3","e7e5"],"pgn":"1. f3 e5 *\n","fen":"x"}`)}},
	}}
	e := newEnv(t, api.Config{Ratings: ratings, Matches: matches})
	w := &wireCheck{t: t, seen: map[reflect.Type]map[string]bool{}}
	body := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	call := func(method, path, token, reqBody string, want int) []byte {
		t.Helper()
		code, _, b := e.do(method, path, token, reqBody)
		if code != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
		}
		return b
	}

	alice := agree[rest.Guest](w, "POST /v1/auth/guest", call("POST", "/v1/auth/guest", "", body(rest.GuestRequest{Name: "alice"}), http.StatusCreated))
	bob := agree[rest.Guest](w, "POST /v1/auth/guest", call("POST", "/v1/auth/guest", "", body(rest.GuestRequest{Name: "bob"}), http.StatusCreated))
	carol := agree[rest.Guest](w, "POST /v1/auth/guest", call("POST", "/v1/auth/guest", "", body(rest.GuestRequest{Name: "carol"}), http.StatusCreated))

	ratings.mu.Lock()
	ratings.ratings = map[string]map[string]match.Rating{alice.PlayerID: {
		"duel": {Rating: 1523.456, Games: 12, Wins: 7, Losses: 4, Draws: 1},
		"ffa":  {Rating: 1480, RD: 87.1234, Volatility: 0.0600004, Games: 3, Wins: 1, Losses: 2},
	}}
	ratings.boards = map[string][]match.LeaderboardEntry{"duel": {
		{Rank: 1, PlayerID: alice.PlayerID, Name: "alice", Rating: match.Rating{Rating: 1523.456, Games: 12, Wins: 7, Losses: 4, Draws: 1}},
	}}
	ratings.mu.Unlock()
	agree[rest.Player](w, "GET /v1/players/{id}", call("GET", "/v1/players/"+alice.PlayerID, bob.Token, "", http.StatusOK))
	agree[rest.Leaderboard](w, "GET /v1/leaderboard/{mode}", call("GET", "/v1/leaderboard/duel", bob.Token, "", http.StatusOK))
	matches.mu.Lock()
	matches.matches["mine"] = match.Summary{MatchID: "mine", Mode: "duel", Status: match.StatusRunning, Players: []string{alice.PlayerID, bob.PlayerID}, CreatedAt: created}
	matches.mu.Unlock()
	for _, id := range []string{"running", "ended", "mine"} {
		agree[rest.Match](w, "GET /v1/matches/"+id, call("GET", "/v1/matches/"+id, bob.Token, "", http.StatusOK))
	}

	// Tickets: searching, matched, cancelled.
	tk := agree[rest.Ticket](w, "POST /v1/matchmaking/tickets", call("POST", "/v1/matchmaking/tickets", alice.Token, body(rest.TicketRequest{Mode: "duel"}), http.StatusCreated))
	agree[rest.Ticket](w, "POST /v1/matchmaking/tickets", call("POST", "/v1/matchmaking/tickets", bob.Token, body(rest.TicketRequest{Mode: "duel"}), http.StatusCreated))
	matched := agree[rest.Ticket](w, "GET a matched ticket", call("GET", "/v1/matchmaking/tickets/"+tk.TicketID+"?wait=10s", alice.Token, "", http.StatusOK))
	if matched.Status != rest.TicketMatched {
		t.Fatalf("ticket after the long-poll = %+v, want matched", matched)
	}
	tk = agree[rest.Ticket](w, "POST /v1/matchmaking/tickets", call("POST", "/v1/matchmaking/tickets", carol.Token, body(rest.TicketRequest{Mode: "ffa"}), http.StatusCreated))
	call("DELETE", "/v1/matchmaking/tickets/"+tk.TicketID, carol.Token, "", http.StatusNoContent)
	agree[rest.Ticket](w, "GET a cancelled ticket", call("GET", "/v1/matchmaking/tickets/"+tk.TicketID, carol.Token, "", http.StatusOK))

	agree[rest.ErrorBody](w, "an error", call("GET", "/v1/matches/nope", bob.Token, "", http.StatusNotFound))
	w.covered()
}

// TestRESTClient plays the client's whole API against the real server.
func TestRESTClient(t *testing.T) {
	ratings := &fakeRatings{}
	e := newEnv(t, api.Config{Ratings: ratings, Matches: &fakeMatches{matches: map[string]match.Summary{
		"m": {MatchID: "m", Mode: "duel", Status: match.StatusRunning, Players: []string{"p1", "p2"}, CreatedAt: time.Now()},
	}}})
	ctx := t.Context()
	anon, err := rest.New(e.url, rest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.Health(ctx); err != nil {
		t.Errorf("Health = %v", err)
	}
	if err := anon.Ready(ctx); err != nil {
		t.Errorf("Ready = %v", err)
	}
	var signedUp []*rest.Client
	var ids []string
	for _, name := range []string{"alice", "bob"} {
		g, err := anon.CreateGuest(ctx, name)
		if err != nil {
			t.Fatalf("CreateGuest(%q) = %v", name, err)
		}
		signedUp = append(signedUp, anon.WithToken(g.Token))
		ids = append(ids, g.PlayerID)
	}
	alice, bob := signedUp[0], signedUp[1]

	if p, err := bob.Player(ctx, ids[0]); err != nil || p.Name != "alice" || p.PlayerID != ids[0] {
		t.Errorf("Player(alice) = %+v, %v", p, err)
	}
	tk, err := alice.CreateTicket(ctx, "duel")
	if err != nil || tk.Status != rest.TicketSearching {
		t.Fatalf("CreateTicket = %+v, %v; want searching", tk, err)
	}
	if got, err := alice.Ticket(ctx, tk.TicketID, 0); err != nil || got != tk {
		t.Errorf("Ticket = %+v, %v; want %+v", got, err, tk)
	}
	if _, err := bob.CreateTicket(ctx, "duel"); err != nil {
		t.Fatal(err)
	}
	got, err := alice.AwaitTicket(ctx, tk.TicketID)
	if err != nil || got.Status != rest.TicketMatched || got.MatchID == "" || !strings.HasPrefix(got.WSURL, "ws://") {
		t.Fatalf("AwaitTicket = %+v, %v; want matched with a match and a ws_url", got, err)
	}
	if m, err := bob.Match(ctx, "m"); err != nil || m.Status != rest.MatchRunning || !slices.Equal(m.Players, []string{"p1", "p2"}) {
		t.Errorf("Match(m) = %+v, %v; want running, p1 and p2", m, err)
	}
	if l, err := bob.Leaderboard(ctx, "duel", 5); err != nil || l.Mode != "duel" || l.Entries == nil {
		t.Errorf("Leaderboard = %+v, %v", l, err)
	}

	// The server's refusals come back as *rest.Error with its code.
	tests := []struct {
		name       string
		call       func() error
		wantStatus int
		wantCode   string
	}{
		{"cancel a matched ticket", func() error { return alice.CancelTicket(ctx, tk.TicketID) }, http.StatusConflict, "already_matched"},
		{"someone else's ticket", func() error { _, err := bob.Ticket(ctx, tk.TicketID, 0); return err }, http.StatusNotFound, "not_found"},
		{"a wait too long", func() error { _, err := alice.Ticket(ctx, tk.TicketID, time.Minute); return err }, http.StatusBadRequest, "invalid_wait"},
		{"no token", func() error { _, err := anon.Player(ctx, ids[0]); return err }, http.StatusUnauthorized, "unauthorized"},
		{"an unknown mode", func() error { _, err := bob.Leaderboard(ctx, "nope", 0); return err }, http.StatusBadRequest, "unknown_mode"},
		{"a limit too large", func() error { _, err := bob.Leaderboard(ctx, "duel", 1000); return err }, http.StatusBadRequest, "invalid_limit"},
		{"no such match", func() error { _, err := bob.Match(ctx, "nope"); return err }, http.StatusNotFound, "not_found"},
		{"a bad name", func() error { _, err := anon.CreateGuest(ctx, ""); return err }, http.StatusBadRequest, "invalid_name"},
	}
	for _, tt := range tests {
		err := tt.call()
		var re *rest.Error
		if !errors.As(err, &re) || re.StatusCode != tt.wantStatus || re.Code != tt.wantCode || re.Message == "" {
			t.Errorf("%s: error %v, want a *rest.Error %d %s with a message", tt.name, err, tt.wantStatus, tt.wantCode)
		}
	}

	// A searching ticket cancels.
	carol, err := anon.CreateGuest(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	c := anon.WithToken(carol.Token)
	tk, err = c.CreateTicket(ctx, "ffa")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CancelTicket(ctx, tk.TicketID); err != nil {
		t.Errorf("CancelTicket = %v", err)
	}
	if got, err := c.AwaitTicket(ctx, tk.TicketID); err != nil || got.Status != rest.TicketCancelled {
		t.Errorf("AwaitTicket of a cancelled ticket = %+v, %v; want cancelled at once", got, err)
	}
}
