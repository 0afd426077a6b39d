package core

// SetBeforeHeaders makes Put run f within its transaction after the square
// is written and before the header is: an injected failure midway.
func SetBeforeHeaders(s *Store, f func() error) { s.beforeHeaders = f }

// SetFreeBytes replaces how Put learns the free space of the database's
// filesystem.
func SetFreeBytes(s *Store, f func(dir string) (uint64, bool, error)) { s.freeBytes = f }
