package agentdesc

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// osDescription returns a human-readable OS description for goos; it
// falls back to a generic name rather than failing.
func osDescription(goos string) string {
	var d string
	switch goos {
	case "linux":
		d = linuxDescription(os.ReadFile)
	case "darwin":
		if v := sysctl("kern.osproductversion"); v != "" {
			d = "macOS " + v
		}
	case "freebsd", "netbsd", "openbsd", "dragonfly":
		d = strings.TrimSpace(sysctl("kern.ostype") + " " + sysctl("kern.osrelease"))
	case "windows":
		d = windowsDescription()
	}
	if d == "" {
		return fallbackName(goos)
	}
	return d
}

func fallbackName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "darwin":
		return "macOS"
	case "windows":
		return "Windows"
	default:
		return goos
	}
}

// linuxDescription combines the distribution's PRETTY_NAME with the kernel
// release, e.g. "Debian GNU/Linux 12 (bookworm) (Linux 6.1.0-13-amd64)".
// readFile is a seam for tests.
func linuxDescription(readFile func(string) ([]byte, error)) string {
	var pretty string
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if b, err := readFile(p); err == nil {
			pretty = prettyName(b)
			break
		}
	}
	var kernel string
	if b, err := readFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	switch {
	case pretty != "" && kernel != "":
		return pretty + " (Linux " + kernel + ")"
	case kernel != "":
		return "Linux " + kernel
	default:
		return pretty
	}
}

// prettyName extracts PRETTY_NAME from os-release content (shell-style
// KEY=value lines, value optionally quoted).
func prettyName(osRelease []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(osRelease))
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "PRETTY_NAME=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			return strings.TrimSpace(u)
		}
		return strings.TrimSpace(strings.Trim(v, `'"`))
	}
	return ""
}
