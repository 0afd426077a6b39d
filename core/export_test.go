package core

// SetBeforeHeaders makes Put run f within its transaction after the square
// is written and before the header is: an injected failure midway.
func SetBeforeHeaders(s *Store, f func() error) { s.beforeHeaders = f }
