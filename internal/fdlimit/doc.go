// Package fdlimit reads and raises the process's limit on open file
// descriptors (RLIMIT_NOFILE), which every connection, stream and store
// file counts against: the node sizes its API server's connection cap
// from it so that descriptors stay in reserve for consensus, the stores
// and libp2p.
package fdlimit
