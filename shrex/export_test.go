package shrex

// WithAdmitHook makes the server call f once each stream holds its peer's
// stream slot, before it reads the request, so that tests can wait for
// streams to be counted instead of sleeping.
func WithAdmitHook(f func()) ServerOption {
	return func(c *serverConfig) error {
		c.onAdmit = f
		return nil
	}
}

// WithReleaseHook makes the server call f once each stream has given its
// peer's stream slot back, after its response: a client can see the
// response before that, so tests wait for it instead of sleeping.
func WithReleaseHook(f func()) ServerOption {
	return func(c *serverConfig) error {
		c.onRelease = f
		return nil
	}
}
