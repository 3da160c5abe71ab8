/**
 * The only URLs handed to shell.openExternal: http(s) addresses the app built
 * itself (the backend's web UI from the validated settings). Never a URL a
 * page asked to open: other schemes (file:, smb:, custom protocol handlers)
 * can run programs.
 */
export function externalUrlFor(backendUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(backendUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  url.pathname = '/';
  url.search = '';
  url.hash = '';
  return url.href;
}
