package agentdesc

import (
	"io/fs"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSemconvArch(t *testing.T) {
	for goarch, want := range map[string]string{
		"amd64": "amd64", "arm64": "arm64", "arm": "arm32", "386": "x86", "ppc64": "ppc64",
		"ppc64le": "ppc64", "s390x": "s390x", "riscv64": "riscv64", "loong64": "loong64",
	} {
		assert.Equal(t, want, semconvArch(goarch), goarch)
	}
}

func TestSemconvOSType(t *testing.T) {
	for goos, want := range map[string]string{
		"linux": "linux", "darwin": "darwin", "windows": "windows", "freebsd": "freebsd",
		"netbsd": "netbsd", "openbsd": "openbsd", "dragonfly": "dragonflybsd", "illumos": "solaris",
		"solaris": "solaris", "aix": "aix", "zos": "zos", "plan9": "plan9",
	} {
		assert.Equal(t, want, semconvOSType(goos), goos)
	}
}

func TestDefaultHost(t *testing.T) {
	h := DefaultHost()
	assert.NotEmpty(t, h.Name)
	assert.Equal(t, semconvArch(runtime.GOARCH), h.Arch)
	assert.Equal(t, semconvOSType(runtime.GOOS), h.OSType)
	assert.NotEmpty(t, h.Arch)
	assert.NotEmpty(t, h.OSType)
	assert.NotEmpty(t, h.OSDescription)
	if runtime.GOOS == "linux" {
		assert.Contains(t, h.OSDescription, "Linux")
	}
}

func TestLinuxDescription(t *testing.T) {
	const debian = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"both", map[string]string{"/etc/os-release": debian, "/proc/sys/kernel/osrelease": "6.1.0-13-amd64\n"},
			"Debian GNU/Linux 12 (bookworm) (Linux 6.1.0-13-amd64)"},
		{"usr lib fallback", map[string]string{"/usr/lib/os-release": "PRETTY_NAME='Alpine Linux v3.20'\n"}, "Alpine Linux v3.20"},
		{"kernel only", map[string]string{"/proc/sys/kernel/osrelease": "5.15.0"}, "Linux 5.15.0"},
		{"unquoted", map[string]string{"/etc/os-release": "PRETTY_NAME=Arch\n"}, "Arch"},
		{"no pretty name", map[string]string{"/etc/os-release": "ID=x\n"}, ""},
		{"nothing readable", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func(p string) ([]byte, error) {
				if s, ok := tt.files[p]; ok {
					return []byte(s), nil
				}
				return nil, fs.ErrNotExist
			}
			assert.Equal(t, tt.want, linuxDescription(read))
		})
	}
}

func TestOSDescriptionFallback(t *testing.T) {
	// An OS without a probe still gets a non-empty description.
	assert.Equal(t, "plan9", osDescription("plan9"))
	assert.Equal(t, "Windows", fallbackName("windows"))
}
