//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package agentdesc

import "syscall"

// sysctl returns a string sysctl value, or "" if it is unavailable.
func sysctl(name string) string {
	v, err := syscall.Sysctl(name)
	if err != nil {
		return ""
	}
	return v
}
