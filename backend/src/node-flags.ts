/**
 * The flags node runs the backend with, wherever it is started: the image's
 * CMD (docker/Dockerfile.app), `npm start` (the root and backend
 * package.json) and the tests' backends (test/support/backend.ts). A test
 * (deploy/dockerfiles.test.ts) holds the others equal to this list.
 *
 * --initial-old-space-size: with V8's default the main isolate's old
 * generation stays so small (25-28 MB of heap) that uploads, whose buffers
 * come and go, set off a full collection about every 100 ms: 28-30 per 80
 * photos. Starting it at 96 MB took that to 11, and the backend's CPU per
 * photo from 80 to 74 ms (128 MB: 7 and 70 ms, but 50 MiB more peak RSS
 * against 20). V8 does not accept the flag in NODE_OPTIONS, hence the
 * command lines.
 */
export const BACKEND_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=96'];
