/**
 * "Leave this page?" while anything is uploading (a browser only): leaving
 * would cut the uploads off. The batch itself survives a reload (see
 * batch-session.ts), but the files not sent yet would have to be added
 * again. Electron is left alone: there a beforeunload that prevents the
 * default silently keeps the window from closing.
 */
export function warnBeforeLeaving(busy: () => boolean): void {
  window.addEventListener('beforeunload', (event) => {
    if (!busy()) return;
    event.preventDefault();
    // Older browsers ask only when returnValue is set.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated, and still what those browsers read
    event.returnValue = '';
  });
}
