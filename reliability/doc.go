// Package reliability holds the fault-injection suite of the opamp
// extension: a fleet of agents behind internal/faultproxy in front of
// internal/testserver, driven through cuts, a server restart that loses all
// state, a blackhole, latency, refused and throttled connections and a
// misbehaving server, and connection-settings offers that cannot work or
// whose servers go away. See RELIABILITY.md at the repository root.
//
// The package has no code of its own outside its tests.
package reliability
