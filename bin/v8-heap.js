// V8 heap sizing for cdp processes. A sync's heap is mostly short-lived batch data (rows,
// request bodies); when full GCs are cheap V8 lets the old generation grow to ~4x its live
// size before the next one, so a 1M-row delivery carried ~100 MB of garbage at times. A fixed
// 1.5x keeps the heap near its live set, for a few more milliseconds of GC per run. The flag
// is read at each full GC, so setting it here, before any work, applies to the whole process.
require('node:v8').setFlagsFromString('--heap-growing-percent=50');
