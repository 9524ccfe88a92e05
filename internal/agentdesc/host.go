package agentdesc

import (
	"os"
	"runtime"
)

// HostInfo describes the machine for the non-identifying attributes. It is
// a plain value so tests can supply a fixed one; empty fields are omitted.
type HostInfo struct {
	Name          string // host.name
	Arch          string // host.arch, a semantic-convention value
	OSType        string // os.type, a semantic-convention value
	OSDescription string // os.description, human readable
}

// DefaultHost reads the real machine. It never fails: anything it cannot
// learn is left empty (host.name) or falls back to a coarser value.
func DefaultHost() HostInfo {
	name, err := os.Hostname()
	if err != nil {
		name = ""
	}
	return HostInfo{
		Name:          name,
		Arch:          semconvArch(runtime.GOARCH),
		OSType:        semconvOSType(runtime.GOOS),
		OSDescription: osDescription(runtime.GOOS),
	}
}

// attributes returns the non-empty fields keyed by attribute name.
func (h HostInfo) attributes() map[string]string {
	m := make(map[string]string, 4)
	for k, v := range map[string]string{
		KeyHostName: h.Name, KeyHostArch: h.Arch, KeyOSType: h.OSType, KeyOSDescription: h.OSDescription,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// semconvArch maps GOARCH to the host.arch values of the OpenTelemetry
// semantic conventions; architectures they do not list keep the Go name.
func semconvArch(goarch string) string {
	switch goarch {
	case "386":
		return "x86"
	case "arm":
		return "arm32"
	case "ppc64", "ppc64le":
		return "ppc64"
	case "ppc", "ppcle":
		return "ppc32"
	default: // amd64, arm64, s390x match; others (riscv64, ...) are unlisted
		return goarch
	}
}

// semconvOSType maps GOOS to the os.type values of the semantic
// conventions; systems they do not list keep the Go name.
func semconvOSType(goos string) string {
	switch goos {
	case "dragonfly":
		return "dragonflybsd"
	case "illumos":
		return "solaris"
	default: // linux, darwin, windows, freebsd, netbsd, openbsd, aix, solaris, zos match
		return goos
	}
}
