//go:build !unix

package shrex_test

import "time"

// processCPU is 0 where getrusage is not available: the CPU metric then
// reads 0.
func processCPU() time.Duration { return 0 }
