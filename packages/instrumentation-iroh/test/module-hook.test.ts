import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The require hook itself cannot be exercised inside Jest (its module registry does not go
 * through Module.prototype.require), so a child process plays the application: instrumentation
 * first, then require('@number0/iroh'). See fixtures/module-hook.ts.
 */

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'module-hook.ts');

it('patches @number0/iroh when it is required after registration, lets dropped connections go, and disable() restores the native methods', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--no-deprecation', '--import', 'tsx', FIXTURE], {
    cwd: ROOT, // tsx reads the root tsconfig.json paths: the packages' sources
    timeout: 20_000,
    env: { ...process.env, RUST_BACKTRACE: '0' },
  });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  expect(result).toEqual({
    patchedAtRequire: true,
    trackedWhileOpen: 2,
    peerSaw: 'closed by peer: 0', // what Iroh sends when a dropped connection is closed
    notNativeAfterDisable: [],
    attempts: ['success'],
    transitions: expect.arrayContaining(['disconnected>connecting', 'connecting>connected', 'connected>disconnecting', 'disconnecting>disconnected']),
    streamsOpened: ['outbound', 'inbound'],
    streamsClosed: expect.arrayContaining(['outbound', 'inbound']),
    durations: 2,
    errors: [],
    rejected: expect.objectContaining({ internal_error: 0, invalid_peer_id: 0 }),
  });
  expect(result.transitions).toHaveLength(8);
});
