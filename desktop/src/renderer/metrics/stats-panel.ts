/** The earlier dashboard's statistics and its recent images, refreshed on a timer. */
import { h, byId, setText } from '../ui/dom.js';
import { formatBytes, formatMs, formatTime } from '../ui/format.js';
import type { Stats } from '../platform/platform.js';

export function renderStats(stats: Stats): void {
  const figures: [string, string][] = [
    ['stat-total', String(stats.total)],
    ['stat-completed', String(stats.completed)],
    ['stat-processing', String(stats.processing)],
    ['stat-pending', String(stats.pending)],
    ['stat-failed', String(stats.failed)],
    ['stat-threads', `${stats.activeThreads} / ${stats.totalThreads}`],
    ['stat-avg', formatMs(stats.avgProcessingMs)],
    ['stat-queue', String(stats.queueSize)],
    ['stat-processed', String(stats.processedCount)],
    ['stat-pod', stats.pod],
  ];
  for (const [id, text] of figures) setText(byId(id), text);

  const body = byId<HTMLTableSectionElement>('recent-body');
  body.replaceChildren(
    ...stats.recent.map((image) =>
      h(
        'tr',
        { 'data-status': image.status },
        h('td', {}, String(image.id)),
        h('td', { class: 'filename', title: image.filename }, image.filename),
        h('td', {}, h('span', { class: `badge ${image.status}` }, image.status)),
        h('td', {}, image.width && image.height ? `${image.width}×${image.height}` : '—'),
        h('td', {}, image.processedBytes ? formatBytes(image.processedBytes) : '—'),
        h('td', {}, formatMs(image.processingMs)),
        h('td', {}, formatTime(image.processedAt ?? image.uploadedAt)),
        h('td', { class: 'reason' }, image.error ?? ''),
      ),
    ),
  );
}
