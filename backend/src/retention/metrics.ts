/** The retention sweep's figures on GET /metrics (this pod's share of the cluster's sweeps). */
import { Counter, type Registry } from 'prom-client';
import type { SweepResult } from './sweeper.js';

export function retentionMetrics(registry: Registry, prefix = 'imgfleet_'): (result: SweepResult) => void {
  const sweeps = new Counter({
    name: `${prefix}retention_sweeps_total`,
    help: 'Retention sweeps, by whether this pod ran it or another pod held the sweep lock',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const originals = new Counter({
    name: `${prefix}retention_originals_dropped_total`,
    help: 'Originals whose bytes the retention policy dropped (row and result kept)',
    registers: [registry],
  });
  const images = new Counter({
    name: `${prefix}retention_images_deleted_total`,
    help: 'Images deleted with their expired batch',
    registers: [registry],
  });
  const batches = new Counter({
    name: `${prefix}retention_batches_deleted_total`,
    help: 'Expired batches deleted',
    registers: [registry],
  });
  sweeps.labels('ran');
  sweeps.labels('skipped');
  return (result) => {
    sweeps.inc({ result: result.ran ? 'ran' : 'skipped' });
    originals.inc(result.originalsDropped);
    images.inc(result.imagesDeleted);
    batches.inc(result.batchesDeleted);
  };
}
