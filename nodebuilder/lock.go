package nodebuilder

// LockHome takes the lock a running node holds on its home (<home>/lock,
// created with the home if missing) for a process that owns a directory
// without running a node in it: the devnet holds it on the directory of
// its nodes' homes. It fails with ErrHomeLocked while another holder has
// it, in this process or another; unlock releases it.
func LockHome(home string) (unlock func() error, err error) { return lockHome(home) }
