/** The channel list, the schemas, the handler map and the bridge agree, and bad input is refused. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EVENT_CHANNELS, INVOKE_CHANNELS } from '../../src/shared/channels.js';
import { createBridge } from '../../src/shared/bridge.js';
import { invokeSchemas, type IpcSender } from '../../src/shared/ipc-contract.js';
import { createMainHandlers, type MainHandlers } from '../../src/main/handlers.js';
import { dispatch } from '../../src/main/ipc-dispatch.js';
import { SessionStore } from '../../src/main/services/session-store.js';
import { SettingsStore } from '../../src/main/services/settings-store.js';
import { removeDir, tempDir } from '../support/paths.js';

const sender: IpcSender = { id: 1, url: 'file:///app/desktop.html', send: () => undefined, onClosed: () => undefined };

describe('IPC contract', () => {
  let dir: string;
  let main: MainHandlers;
  let settings: SettingsStore;

  before(async () => {
    dir = await tempDir('ipc');
    settings = await SettingsStore.open(dir);
    main = createMainHandlers({
      settings,
      session: SessionStore.in(dir),
      dialogs: { pickPaths: async () => null, chooseFolder: async () => null },
      openFolder: async () => undefined,
      notify: () => undefined,
      openMetricsWindow: () => undefined,
    });
  });
  after(async () => {
    main.dispose();
    await removeDir(dir);
  });

  it('has one schema and one handler per channel, and nothing else', () => {
    assert.deepEqual(Object.keys(invokeSchemas).sort(), [...INVOKE_CHANNELS].sort());
    assert.deepEqual(Object.keys(main.handlers).sort(), [...INVOKE_CHANNELS].sort());
    assert.equal(new Set(INVOKE_CHANNELS).size, INVOKE_CHANNELS.length);
    assert.equal(new Set(EVENT_CHANNELS).size, EVENT_CHANNELS.length);
  });

  it('validates arguments before any handler runs', async () => {
    const cases: [string, unknown][] = [
      ['files:scan', { paths: [] }],
      ['files:scan', { paths: ['/x'], extra: true }],
      ['images:retry', { id: 1.5 }],
      ['images:retry', { id: '1' }],
      ['upload:start', { batchId: 'not-a-uuid', files: [{ key: 'k', path: '/x.jpg' }] }],
      ['settings:update', { outputFolder: '/anywhere' }],
      ['settings:update', { backendUrl: 'file:///etc' }],
      ['settings:update', { namingTemplate: '../{name}.jpg' }],
      ['notify', { title: '', body: 'x' }],
      ['settings:get', { unexpected: 1 }],
    ];
    for (const [channel, args] of cases) {
      const result = await dispatch(main.handlers, channel, sender, args);
      assert.ok(!result.ok && result.error.code === 'INVALID_ARGUMENTS', `${channel} ${JSON.stringify(args)}: ${JSON.stringify(result)}`);
    }
    const unknown = await dispatch(main.handlers, 'fs:readFile', sender, {});
    assert.ok(!unknown.ok && unknown.error.code === 'UNKNOWN_CHANNEL');
    assert.deepEqual(settings.get().outputFolder, '', 'the renderer cannot set the output folder directly');
  });

  it('answers with an envelope, switching backends when the setting changes', async () => {
    const got = await dispatch(main.handlers, 'settings:get', sender, {});
    assert.ok(got.ok);
    const check = await dispatch(main.handlers, 'backend:check', sender, {});
    assert.ok(check.ok && check.value.url === 'http://127.0.0.1:8080');
    const updated = await dispatch(main.handlers, 'settings:update', sender, { backendUrl: 'http://127.0.0.1:9/', uploadConcurrency: 2 });
    assert.ok(updated.ok && updated.value.backendUrl === 'http://127.0.0.1:9');
    const after = await dispatch(main.handlers, 'backend:check', sender, {});
    assert.ok(after.ok && after.value.url === 'http://127.0.0.1:9' && !after.value.reachable);
    const stats = await dispatch(main.handlers, 'stats:get', sender, {});
    assert.ok(!stats.ok && stats.error.code === 'OFFLINE', 'an unreachable backend is OFFLINE, with the address in the message');
    assert.match(stats.ok ? '' : stats.error.message, /127\.0\.0\.1:9/);
    const download = await dispatch(main.handlers, 'download:images', sender, { items: [{ key: 'k', id: 1, name: 'a.jpg' }] });
    assert.deepEqual(download, { ok: true, value: { folder: null, written: 0, failed: 0, results: [] } }, 'no folder chosen: nothing written');
  });

  it('the bridge only forwards listed channels', async () => {
    const forwarded: string[] = [];
    const bridge = createBridge({
      invoke: async (channel) => {
        forwarded.push(channel);
        return { ok: true, value: null };
      },
      subscribe: () => () => undefined,
      pathForFile: () => '/x',
    });
    await bridge.invoke('settings:get', {});
    const refused = await (bridge.invoke as (c: string, a: unknown) => Promise<unknown>)('shell:openExternal', {});
    assert.deepEqual(refused, { ok: false, error: { message: 'unknown channel "shell:openExternal"', code: 'UNKNOWN_CHANNEL' } });
    assert.throws(() => (bridge.on as (c: string, l: () => void) => void)('anything', () => undefined), /unknown event channel/);
    assert.deepEqual(forwarded, ['settings:get']);
    assert.ok(Object.isFrozen(bridge));
  });
});
