/**
 * An error once a response has started (a download whose source fails
 * mid-way: the database restarted, the bytes deleted) ends the response as
 * a truncated transfer at once (issue 18, item 4): no final chunk, the
 * socket closed. It used to leave the connection open for ever.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import http from 'node:http';
import { errorHandler, HttpError } from '../../src/http/errors.js';
import { createLogger } from '../../src/logger.js';
import { connect } from '../support/raw-http.js';

describe('errors after the headers', () => {
  let server: http.Server;
  let url: string;
  before(async () => {
    const app = express();
    app.get('/chunked', async (_req, res) => {
      res.type('application/zip');
      res.write(Buffer.alloc(1000, 1));
      await new Promise((r) => setImmediate(r));
      // As pg reports a connection lost mid-query (classified 503 DATABASE_UNAVAILABLE).
      throw Object.assign(new Error('Connection terminated unexpectedly'), {});
    });
    app.get('/sized', async (_req, res) => {
      res.set('Content-Length', '5000').type('image/jpeg');
      res.write(Buffer.alloc(1000, 1));
      await new Promise((r) => setImmediate(r));
      throw new HttpError(404, 'NOT_FOUND', 'the image was deleted meanwhile');
    });
    app.use(errorHandler(createLogger('silent', { pod: 'test' })));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  for (const path of ['/chunked', '/sized']) {
    it(`${path}: the client sees the connection end, short of a complete body`, { timeout: 30_000 }, async () => {
      const conn = await connect(url);
      await conn.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
      // Keep-alive asked for: only an ended response closes the connection.
      const answer = await conn.response;
      assert.match(answer, /^HTTP\/1\.1 200/);
      if (path === '/chunked') assert.doesNotMatch(answer, /\r\n0\r\n\r\n$/, 'no final chunk: the body is visibly cut');
      else assert.ok(answer.length - answer.indexOf('\r\n\r\n') - 4 < 5000, 'shorter than its Content-Length');
    });
  }
});
