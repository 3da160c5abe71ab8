/**
 * The drop zone's look while something is dragged over it, and the drop
 * itself handed to the controller. A drop anywhere else is swallowed so the
 * window never navigates to a dropped file.
 */
export function bindDropZone(zone: HTMLElement, onDrop: (data: DataTransfer) => void): void {
  // dragenter/dragleave fire for every child crossed: count them so the highlight does not flicker.
  let depth = 0;
  zone.addEventListener('dragenter', (event) => {
    event.preventDefault();
    depth++;
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('dragging');
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    // The items must be read now, during the event: the platform takes them synchronously.
    if (event.dataTransfer) onDrop(event.dataTransfer);
  });
  for (const type of ['dragover', 'drop'] as const) {
    document.addEventListener(type, (event) => event.preventDefault());
  }
}
