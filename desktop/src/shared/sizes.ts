/** File sizes as people read them, the same on both sides of the IPC boundary. */

/**
 * Bytes in decimal units (1 kB = 1000 B), as macOS and most Linux file
 * managers show file sizes, so a photo's size here matches the one there.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}
