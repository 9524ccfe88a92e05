//go:build !unix

package reload

const helperEnv = "RELOAD_HELPER_MODE"

func runHelper(string) int { return 3 }
