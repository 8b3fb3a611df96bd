/**
 * Preloaded (`--import`) into a process started with `--expose-gc`: SIGUSR2 runs a full garbage
 * collection, so that a test reads the heap the process retains rather than garbage not yet
 * collected (e.g. `nodejs_heap_size_used_bytes` on its /metrics).
 */
const { gc } = globalThis as { gc?: () => void };
if (gc === undefined) throw new Error('gc-on-signal: start the process with --expose-gc');
process.on('SIGUSR2', () => gc());
