package chess

// moveList is a game's moves from the start, in UCI as played, packed
// into one pointer-free buffer: each move in a slot of uciSlot bytes, the
// fifth byte 0 unless the move is a promotion.
//
// Why not a []string: a room keeps its game for the whole match, and at
// 5,000 games every GC cycle marks every live game (bench/README.md,
// "Chess"). A []string is a pointer per move for the collector to scan and
// a string per move for it to mark; this buffer is one object it never
// scans (TestHeapPerGame holds the difference).
type moveList []byte

// uciSlot is the bytes a move takes in a moveList: the longest UCI move,
// a promotion ("e7e8q").
const uciSlot = 5

// Len returns the number of moves.
func (l moveList) Len() int { return len(l) / uciSlot }

// At returns move i in UCI. It aliases the list: the caller must not keep
// it past the next append.
func (l moveList) At(i int) []byte {
	s := l[i*uciSlot : (i+1)*uciSlot : (i+1)*uciSlot]
	if s[uciSlot-1] == 0 {
		return s[:uciSlot-1]
	}
	return s
}

// append returns l with uci appended. uci must be strict UCI, as legal
// checks it: four bytes, or five for a promotion.
func (l moveList) append(uci string) moveList {
	var slot [uciSlot]byte
	copy(slot[:], uci)
	return append(l, slot[:]...)
}

// Strings returns the moves as strings, in two allocations: the slice,
// and one string of the whole list that the moves are cut from. It is nil
// when there are none (as the []string the list replaced was, so that a
// Snapshot keeps writing "moves":null before the first move).
func (l moveList) Strings() []string {
	if l.Len() == 0 {
		return nil
	}
	all := string(l)
	out := make([]string, l.Len())
	for i := range out {
		out[i] = all[i*uciSlot : i*uciSlot+len(l.At(i))]
	}
	return out
}
