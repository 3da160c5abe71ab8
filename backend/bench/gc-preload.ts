/**
 * Loaded into the bench's backend with NODE_OPTIONS=--import (where
 * --trace-gc is not allowed): turns on V8's GC trace before the backend's
 * code runs, for every isolate (the flag is process-wide, so the worker
 * threads started later trace too). run.ts counts the "Mark-Compact" lines
 * in the backend's output: its full collections.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--trace-gc');
