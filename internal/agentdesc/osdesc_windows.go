//go:build windows

package agentdesc

import (
	"syscall"
	"unsafe"
)

// windowsDescription reads the product name and build from the registry,
// e.g. "Windows Server 2022 Datacenter (build 20348)"; "" on failure.
func windowsDescription() string {
	path, err := syscall.UTF16PtrFromString(`SOFTWARE\Microsoft\Windows NT\CurrentVersion`)
	if err != nil {
		return ""
	}
	var key syscall.Handle
	if err := syscall.RegOpenKeyEx(syscall.HKEY_LOCAL_MACHINE, path, 0, syscall.KEY_READ, &key); err != nil {
		return ""
	}
	defer syscall.RegCloseKey(key) //nolint:errcheck // read-only key
	product := regString(key, "ProductName")
	if product == "" {
		return ""
	}
	if build := regString(key, "CurrentBuildNumber"); build != "" {
		return product + " (build " + build + ")"
	}
	return product
}

func regString(key syscall.Handle, name string) string {
	n, err := syscall.UTF16PtrFromString(name)
	if err != nil {
		return ""
	}
	buf := make([]uint16, 256)
	size := uint32(len(buf) * 2)
	var typ uint32
	if err := syscall.RegQueryValueEx(key, n, nil, &typ, (*byte)(unsafe.Pointer(&buf[0])), &size); err != nil {
		return ""
	}
	if typ != syscall.REG_SZ {
		return ""
	}
	return syscall.UTF16ToString(buf[:size/2])
}
