/**
 * The runtime's Prometheus metrics, per context (label `input_key`), served
 * at /metrics by health-server.ts. Each runtime has its own registry, so
 * several runtimes in one process (the tests) never mix their figures.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_KINDS } from './errors.js';
import type { CallOutcome } from './handler-host.js';

export class RuntimeMetrics {
  readonly registry = new Registry();
  private readonly calls = new Counter({
    name: 'imgfleet_runtime_calls_total',
    help: 'Handler calls, by context and outcome (ok or error)',
    labelNames: ['input_key', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'imgfleet_runtime_errors_total',
    help: 'Failed handler calls, by context and kind (exception, timeout, invalid_output, …)',
    labelNames: ['input_key', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly timeouts = new Counter({
    name: 'imgfleet_runtime_timeouts_total',
    help: "Handler calls that ran past HANDLER_TIMEOUT (the context's process was restarted)",
    labelNames: ['input_key'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'imgfleet_runtime_call_duration_seconds',
    help: 'Duration of handler calls, by context',
    labelNames: ['input_key'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly outputDropped = new Counter({
    name: 'imgfleet_runtime_handler_output_dropped_bytes_total',
    help: 'Bytes a handler printed past HANDLER_OUTPUT_MAX_BYTES in one call',
    labelNames: ['input_key'] as const,
    registers: [this.registry],
  });
  readonly polls = new Counter({
    name: 'imgfleet_runtime_polls_total',
    help: 'Completed polls of the input key(s)',
    registers: [this.registry],
  });
  readonly pollErrors = new Counter({
    name: 'imgfleet_runtime_poll_errors_total',
    help: 'Polls that failed (Redis unreachable, …)',
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'imgfleet_runtime_reloads_total',
    help: 'New versions of the function loaded after the file changed',
    registers: [this.registry],
  });
  readonly contexts = new Gauge({
    name: 'imgfleet_runtime_contexts',
    help: 'Contexts (input keys) currently served',
    registers: [this.registry],
  });
  readonly loaded = new Gauge({
    name: 'imgfleet_runtime_function_loaded',
    help: '1 when a version of the function is loaded and serving',
    registers: [this.registry],
  });

  recordCall(inputKey: string, outcome: CallOutcome, seconds: number): void {
    this.calls.inc({ input_key: inputKey, outcome: outcome.ok ? 'ok' : 'error' });
    this.duration.observe({ input_key: inputKey }, seconds);
    if (outcome.ok) return;
    this.errors.inc({ input_key: inputKey, kind: outcome.kind });
    if (outcome.kind === 'timeout') this.timeouts.inc({ input_key: inputKey });
  }

  recordOutputDropped(inputKey: string, bytes: number): void {
    this.outputDropped.inc({ input_key: inputKey }, bytes);
  }

  /** A context went away: its series go too, so a churn of pods does not grow /metrics forever. */
  forget(inputKey: string): void {
    for (const metric of [this.timeouts, this.duration, this.outputDropped]) metric.remove({ input_key: inputKey });
    for (const outcome of ['ok', 'error']) this.calls.remove({ input_key: inputKey, outcome });
    for (const kind of ERROR_KINDS) this.errors.remove({ input_key: inputKey, kind });
  }
}
