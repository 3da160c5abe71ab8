/**
 * Keyboard shortcuts, handled in the page for both Electron and the browser.
 * The Electron menu shows the same accelerators without registering them
 * (registerAccelerator: false), so each key press is handled exactly once.
 */
import type { MenuCommand } from '../platform/platform.js';

export interface Shortcut {
  key: string;
  shift: boolean;
  command: MenuCommand;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { key: 'o', shift: false, command: 'open-files' },
  { key: 'o', shift: true, command: 'open-folder' },
  { key: 'u', shift: false, command: 'upload' },
  { key: 's', shift: true, command: 'download-all' },
];

export function shortcutFor(event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): MenuCommand | null {
  // Ctrl on Windows/Linux, Cmd on macOS; either is accepted so the browser build works everywhere.
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return null;
  const key = event.key.toLowerCase();
  return SHORTCUTS.find((s) => s.key === key && s.shift === event.shiftKey)?.command ?? null;
}

export function bindShortcuts(target: Document, run: (command: MenuCommand) => void): void {
  target.addEventListener('keydown', (event) => {
    if (event.defaultPrevented) return;
    // Typing in the settings form keeps the browser's own Ctrl+… behaviour.
    const inField = event.target instanceof HTMLElement && event.target.closest('input, textarea, dialog');
    if (inField) return;
    const command = shortcutFor(event);
    if (!command) return;
    event.preventDefault();
    run(command);
  });
}
