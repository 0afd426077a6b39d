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
