/**
 * The OpenAPI document and the Express app describe the same /api/v1: every
 * route the app serves is in the document with its method, and nothing
 * else is; the document's schemas come from the contract (a shape the
 * API sends validates against its schema); and with validation on (every
 * test backend) an answer that drifts from its declaration is caught.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express, { type Router } from 'express';
import { imageSummarySchema, retryAnswerSchema, uploadResponseSchema } from '../../src/contract/api.js';
import { defineRoute, routerOf } from '../../src/http/api-route.js';
import { apiRouters } from '../../src/http/app.js';
import type { AppContext } from '../../src/http/context.js';
import { API_ROUTES, openApiDocument } from '../../src/http/openapi.js';
import { metricsRouter } from '../../src/http/routes/metrics.js';
import { createMetricsHub } from '../../src/metrics/index.js';
import { formData, getJson, startTestBackend, waitFor, type TestBackend } from '../support/backend.js';
import { makeImage } from '../support/images.js';

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

function served(routers: Router[]): string[] {
  return routers.flatMap((r) =>
    (r.stack as unknown as RouteLayer[]).filter((l) => l.route).flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m.toUpperCase()} ${l.route!.path}`)),
  );
}

describe('the OpenAPI document', () => {
  let t: TestBackend;
  before(async () => {
    t = await startTestBackend();
  });
  after(async () => {
    await t.close();
  });

  it('lists exactly the routes the app serves under /api/v1', () => {
    // Building the routers registers their routes; nothing is called on the context.
    const hub = createMetricsHub({
      podName: 'doc',
      periodSeconds: 5,
      appStats: async () => ({ activeThreads: 0, totalThreads: 0, queueSize: 0, processedCount: 0, failedCount: 0, avgProcessTimeSeconds: 0 }),
    });
    const routes = served(apiRouters({} as AppContext, { metricsRouter: metricsRouter(hub) }));
    const documented = API_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    assert.deepEqual([...routes].sort(), [...documented].sort());
    for (const r of API_ROUTES) {
      const path = r.path.replace(/:([a-zA-Z]+)/g, '{$1}');
      assert.ok((openApiDocument.paths[path] as Record<string, unknown> | undefined)?.[r.method], `${r.method} ${path} in the document`);
    }
  });

  it('is served, and what the API answers matches the contract it is generated from', async () => {
    const { body: doc } = await getJson<{ openapi: string; paths: Record<string, unknown> }>(`${t.url}/api/v1/openapi.json`);
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.paths).sort(), Object.keys(openApiDocument.paths).sort());
    const res = await fetch(`${t.url}/api/v1/images`, {
      method: 'POST',
      body: formData([{ name: 'doc.jpg', data: await makeImage({ width: 400, height: 300 }) }]),
    });
    const upload = uploadResponseSchema.parse(await res.json());
    const image = await waitFor(async () => {
      const { body } = await getJson(`${t.url}/api/v1/images/${upload.images[0]!.id}`);
      const parsed = imageSummarySchema.parse(body);
      return parsed.status === 'completed' ? parsed : null;
    });
    assert.equal(image.options?.format, 'jpeg');
  });
});

describe('answers checked against their declarations', () => {
  // A route whose handler answers what its declaration does not say.
  const drifting = defineRoute<null>({
    method: 'get',
    path: '/drift',
    summary: 'a route that drifted from its declaration',
    responses: { 200: retryAnswerSchema },
    handle: (_deps, req, res) => {
      if (req.query.undeclared !== undefined) res.status(418).json({ id: 1, status: 'pending' });
      else res.json(req.query.ok !== undefined ? { id: 1, status: 'pending' } : { id: '1', status: 'done' });
    },
  });

  async function get(validateResponses: boolean, query: string): Promise<{ status: number; body: { code?: string; error?: string } }> {
    const app = express();
    app.use('/api/v1', routerOf([drifting], null, { validateResponses }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/drift${query}`);
      return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
    } finally {
      server.close();
    }
  }

  it('answers 500 RESPONSE_INVALID, naming the fields, when an answer does not match its schema', async () => {
    const { status, body } = await get(true, '');
    assert.equal(status, 500);
    assert.equal(body.code, 'RESPONSE_INVALID');
    assert.match(body.error!, /GET \/api\/v1\/drift 200/);
    assert.match(body.error!, /id: /);
    assert.match(body.error!, /status: /);
  });

  it('refuses a status the route does not declare, and lets a matching answer through', async () => {
    assert.equal((await get(true, '?undeclared')).body.code, 'RESPONSE_INVALID');
    assert.deepEqual(await get(true, '?ok'), { status: 200, body: { id: 1, status: 'pending' } });
  });

  it('checks nothing when validation is off (production)', async () => {
    assert.deepEqual(await get(false, ''), { status: 200, body: { id: '1', status: 'done' } });
  });

  it('documents the retry answer as the code gives it', () => {
    const retry = (
      openApiDocument.paths['/images/{id}/retry'] as Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
    ).post!;
    const schema = JSON.stringify(retry.responses['202']!.content!['application/json']!.schema);
    assert.match(schema, /"pending"/);
    assert.doesNotMatch(schema, /filename/);
  });
});
