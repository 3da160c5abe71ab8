/** The backend's version, as its package.json says (served by GET /api/v1/config). */
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export const BACKEND_VERSION: string = pkg.version;
