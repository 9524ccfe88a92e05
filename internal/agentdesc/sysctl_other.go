//go:build !(darwin || freebsd || netbsd || openbsd || dragonfly)

package agentdesc

// sysctl is unavailable here.
func sysctl(string) string { return "" }
