package match

import "time"

// Rating is a player's standing in one mode. Elo modes use Rating alone;
// Glicko-2 modes also keep RD and Volatility.
type Rating struct {
	Rating     float64
	RD         float64 // Glicko-2 rating deviation; 0 for Elo modes
	Volatility float64 // Glicko-2 volatility; 0 for Elo modes
	Games      int
	Wins       int
	Losses     int
	Draws      int
}

// LeaderboardEntry is one line of a mode's leaderboard.
type LeaderboardEntry struct {
	Rank     int // 1-based
	PlayerID string
	Name     string
	Rating   Rating
}

// Match statuses as the REST API shows them.
const (
	StatusWaiting = "waiting" // created, players connecting
	StatusRunning = "running"
	StatusEnded   = "ended"
	StatusAborted = "aborted" // stopped by shutdown or failure; no result counts
)

// Summary is what is known of one match: its players while it runs, its
// result once it has ended.
type Summary struct {
	MatchID   string
	Mode      string
	Status    string
	Players   []string // in seat order
	CreatedAt time.Time
	Result    *Result // set once ended or aborted
	// Remote reports that no room of this server holds the match although
	// it runs: another server runs it, or this one is still taking it over
	// from a dead peer. Server is the advertised base URL where its
	// players connect now (empty if that server advertises none, or while
	// the takeover is under way). Both are zero for a match this server
	// runs and for one that has ended.
	Remote bool
	Server string
}

// Live reports whether the match has not ended: its players may connect.
func (s Summary) Live() bool { return s.Status == StatusWaiting || s.Status == StatusRunning }
