package match

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Errors returned by Tokens when verifying.
var (
	// ErrTokenInvalid: the token is malformed, forged, or of the wrong kind.
	ErrTokenInvalid = errors.New("match: invalid token")
	// ErrTokenExpired: the token was genuine but its expiry has passed.
	ErrTokenExpired = errors.New("match: token expired")
)

// Token kinds, the first byte of the signed claims, so that a token of one
// kind is never accepted as another.
const (
	kindPlayer byte = 'p'
	kindJoin   byte = 'j'
)

// maxTokenLen bounds what Verify will even decode.
const maxTokenLen = 1024

// JoinClaims is what a join token grants: one player's seat in one match.
type JoinClaims struct {
	PlayerID string
	MatchID  string
	Expires  time.Time
}

// Tokens signs and verifies the bearer tokens of the REST API and the join
// tokens of the WebSocket endpoint with HMAC-SHA256. A token is
// base64url(claims) "." base64url(mac). Tokens is safe for concurrent use.
type Tokens struct {
	key []byte
	now func() time.Time
}

// NewTokens returns a signer using secret as the HMAC key. Tokens signed with
// one secret verify only with the same secret, so a server restarted with a
// new secret invalidates every outstanding token.
func NewTokens(secret []byte) *Tokens {
	return &Tokens{key: append([]byte(nil), secret...), now: time.Now}
}

// Player returns a bearer token naming playerID, valid until exp.
func (t *Tokens) Player(playerID string, exp time.Time) string {
	return t.sign(kindPlayer, exp, playerID, "")
}

// VerifyPlayer returns the player a bearer token names.
func (t *Tokens) VerifyPlayer(token string) (playerID string, err error) {
	kind, _, player, _, err := t.verify(token)
	if err != nil {
		return "", err
	}
	if kind != kindPlayer {
		return "", ErrTokenInvalid
	}
	return player, nil
}

// Join returns a join token for playerID's seat in matchID, valid until exp.
func (t *Tokens) Join(playerID, matchID string, exp time.Time) string {
	return t.sign(kindJoin, exp, playerID, matchID)
}

// VerifyJoin returns the claims of a join token.
func (t *Tokens) VerifyJoin(token string) (JoinClaims, error) {
	kind, exp, player, matchID, err := t.verify(token)
	if err != nil {
		return JoinClaims{}, err
	}
	if kind != kindJoin {
		return JoinClaims{}, ErrTokenInvalid
	}
	return JoinClaims{PlayerID: player, MatchID: matchID, Expires: exp}, nil
}

func (t *Tokens) sign(kind byte, exp time.Time, a, b string) string {
	claims := make([]byte, 0, 1+8+2*binary.MaxVarintLen64+len(a)+len(b))
	claims = append(claims, kind)
	claims = binary.BigEndian.AppendUint64(claims, uint64(exp.Unix()))
	claims = binary.AppendUvarint(claims, uint64(len(a)))
	claims = append(claims, a...)
	claims = binary.AppendUvarint(claims, uint64(len(b)))
	claims = append(claims, b...)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(claims) + "." + enc.EncodeToString(t.mac(claims))
}

func (t *Tokens) mac(claims []byte) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write(claims)
	return m.Sum(nil)
}

func (t *Tokens) verify(token string) (kind byte, exp time.Time, a, b string, err error) {
	if len(token) > maxTokenLen {
		return 0, time.Time{}, "", "", ErrTokenInvalid
	}
	// One spelling per token: only the base64url alphabet and one dot. The
	// base64 decoder alone would also skip CR and LF, even when strict.
	enc := base64.RawURLEncoding.Strict()
	dot := -1
	for i := range len(token) {
		switch c := token[i]; {
		case c == '.' && dot < 0:
			dot = i
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return 0, time.Time{}, "", "", ErrTokenInvalid
		}
	}
	if dot < 0 {
		return 0, time.Time{}, "", "", ErrTokenInvalid
	}
	claims, err1 := enc.DecodeString(token[:dot])
	sig, err2 := enc.DecodeString(token[dot+1:])
	if err1 != nil || err2 != nil || !hmac.Equal(sig, t.mac(claims)) {
		return 0, time.Time{}, "", "", ErrTokenInvalid
	}
	// The MAC is genuine, so the claims are ours; parse defensively anyway.
	if len(claims) < 9 {
		return 0, time.Time{}, "", "", ErrTokenInvalid
	}
	kind = claims[0]
	exp = time.Unix(int64(binary.BigEndian.Uint64(claims[1:9])), 0)
	rest := claims[9:]
	a, rest, ok1 := readString(rest)
	b, rest, ok2 := readString(rest)
	if !ok1 || !ok2 || len(rest) != 0 {
		return 0, time.Time{}, "", "", ErrTokenInvalid
	}
	if !t.now().Before(exp) {
		return 0, time.Time{}, "", "", ErrTokenExpired
	}
	return kind, exp, a, b, nil
}

func readString(p []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return "", nil, false
	}
	return string(p[k : k+int(n)]), p[k+int(n):], true
}
