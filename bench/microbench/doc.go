// Package microbench holds Go benchmarks of hot paths that have no benchmark
// beside their own package. scripts/bench.sh runs them with the ones in
// internal/health, internal/effectiveconfig and internal/components.
package microbench
