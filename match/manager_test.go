package match

import "testing"

func TestNewIDsAreUnguessable(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := NewID()
		if len(id) != 32 || seen[id] {
			t.Fatalf("NewID() = %q: want 32 hex digits, never repeated", id)
		}
		seen[id] = true
	}
}
