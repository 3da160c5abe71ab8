/**
 * The tab icon in a browser, as a data: URL added from script: the pages may
 * reference only hashed local assets (security test), and without an icon
 * link every page load asks the backend for /favicon.ico and logs a 404.
 */
const ICON =
  "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>" +
  "<rect width='32' height='32' rx='7' fill='%231a73e8'/>" +
  "<path d='M7 23l6-8 4 5 3-4 5 7z' fill='white'/><circle cx='22' cy='10' r='3' fill='white'/></svg>";

export function addFavicon(): void {
  if (document.querySelector('link[rel="icon"]')) return;
  const link = document.createElement('link');
  link.rel = 'icon';
  link.type = 'image/svg+xml';
  link.href = `data:image/svg+xml,${ICON}`;
  document.head.append(link);
}
