//go:build !windows

package agentdesc

func windowsDescription() string { return "" }
