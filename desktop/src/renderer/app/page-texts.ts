/** The texts that name the formats the apps take, filled from the one list (shared/input-formats.ts). */
import { formatNames, formatShortList } from '../../shared/input-formats.js';
import { byId, setText } from '../ui/dom.js';

export function nameTheFormats(): void {
  for (const element of document.querySelectorAll<HTMLElement>('[data-formats="names"]')) setText(element, formatNames());
  byId('add-files').title = `Add photos: ${formatShortList()} (Ctrl+O)`;
  byId('add-folder').title = `Add a folder of photos: ${formatShortList()} (Ctrl+Shift+O)`;
}
