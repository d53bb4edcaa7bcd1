//go:build !unix

package redis

import "time"

// processCPU is not measured on this system: it is always zero.
func processCPU() time.Duration { return 0 }
