import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RecordingP2pMonitor } from '@p2p-otel/instrumentation';
import type { TrackedConnection } from '../src/connections.js';
import { StreamTracker } from '../src/streams.js';

/**
 * The stream tracker's own logic on plain objects standing for Iroh's stream objects: which
 * object keeps a stream open, and when a collected stream counts as closed. The same paths run
 * against real Iroh in iroh-instrumentation.test.ts; garbage collection is only forced here.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collectGarbage(): Promise<void> {
  // FinalizationRegistry callbacks run in a task after the GC that found the object dead.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function connection(): TrackedConnection {
  return { peer: 'peer-a', closed: false, streams: [0, 0] } as unknown as TrackedConnection;
}

function setUp(): { monitor: RecordingP2pMonitor; tracker: StreamTracker; entry: TrackedConnection; closed: () => number; errors: unknown[] } {
  const monitor = new RecordingP2pMonitor();
  const errors: unknown[] = [];
  const tracker = new StreamTracker(
    () => monitor,
    (e) => errors.push(e),
  );
  return { monitor, tracker, entry: connection(), closed: () => monitor.accepted('recordQuicStreamClosed').length, errors };
}

it('a bi stream is open until both halves are done, and its record stays out of enumeration and spreads', () => {
  const { monitor, tracker, entry, closed } = setUp();
  const bi = {};
  tracker.opened(entry, 'bi', 'outbound', bi);
  const send = {};
  const recv = {};
  tracker.halfTaken(bi, send);
  tracker.halfTaken(bi, recv);
  expect(monitor.accepted('recordQuicStreamOpened')).toEqual([['peer-a', 'outbound']]);
  expect(entry.streams).toEqual([0, 1]);
  tracker.halfDone(send, 'send');
  expect(closed()).toBe(0);
  tracker.halfDone(recv, 'recv');
  tracker.halfDone(recv, 'recv'); // a second settle counts nothing
  expect(monitor.accepted('recordQuicStreamClosed')).toEqual([['peer-a', 'outbound']]);
  expect(entry.streams).toEqual([0, 0]);
  for (const o of [bi, send, recv]) {
    expect(Object.keys(o)).toEqual([]);
    expect(Object.getOwnPropertySymbols({ ...o })).toEqual([]);
    expect(JSON.stringify(o)).toBe('{}');
  }
});

it('a frozen stream object is not followed (nothing opened, nothing thrown)', () => {
  const { monitor, tracker, entry, errors } = setUp();
  tracker.opened(entry, 'bi', 'inbound', Object.freeze({}));
  expect(monitor.calls).toEqual([]);
  expect(entry.streams).toEqual([0, 0]);
  expect(errors).toEqual([]);
});

it('a dropped stream counts as closed once every object standing for it was collected: a held half keeps it open', async () => {
  const { tracker, entry, closed, errors } = setUp();
  let held: object | undefined;
  (() => {
    const bi = {};
    tracker.opened(entry, 'bi', 'inbound', bi);
    held = {};
    tracker.halfTaken(bi, held);
    tracker.halfTaken(bi, {}); // the other half, dropped at once
  })();
  await collectGarbage();
  tracker.sweep();
  expect(closed()).toBe(0); // the BiStream is gone, but the application still holds a half
  expect(entry.streams).toEqual([1, 0]);
  held = undefined;
  await collectGarbage();
  expect(closed()).toBe(0); // counted by the next sweep (close poll or collection)
  tracker.sweep();
  expect(closed()).toBe(1);
  expect(entry.streams).toEqual([0, 0]);
  expect(errors).toEqual([]);
});

it('a stream finished before it was collected is not closed twice; clear() forgets followed streams', async () => {
  const { tracker, entry, closed } = setUp();
  const uni = {};
  (() => {
    const dropped = {};
    tracker.opened(entry, 'uni', 'outbound', dropped);
    tracker.halfDone(dropped, 'send');
  })();
  tracker.opened(entry, 'uni', 'inbound', uni);
  await collectGarbage();
  tracker.sweep();
  expect(closed()).toBe(1);
  tracker.clear();
  tracker.halfDone(uni, 'recv'); // opened before clear(): no longer followed
  expect(closed()).toBe(1);
  tracker.opened(entry, 'uni', 'inbound', uni); // followed afresh
  expect(entry.streams).toEqual([2, 0]);
});

it('the open list holds open streams only: a done stream leaves it at once, those of a closed connection at the next sweep', () => {
  const { tracker, entry, closed } = setUp();
  const streams = [{}, {}, {}, {}];
  for (const s of streams) tracker.opened(entry, 'uni', 'outbound', s);
  expect(tracker.size).toBe(4);
  tracker.halfDone(streams[1], 'send'); // from the middle: the last one takes its slot
  tracker.halfDone(streams[0], 'send');
  expect(tracker.size).toBe(2);
  tracker.halfDone(streams[3], 'send'); // the one moved into a freed slot
  expect(tracker.size).toBe(1);
  expect(closed()).toBe(3);
  const other = connection();
  const kept = {};
  tracker.opened(other, 'bi', 'inbound', kept);
  entry.closed = true; // its close counted its streams
  tracker.sweep();
  expect(tracker.size).toBe(1);
  expect(closed()).toBe(3);
  tracker.halfDone(streams[2], 'send'); // no longer followed: nothing counted twice
  expect(closed()).toBe(3);
  tracker.halfTaken(kept, {});
  expect(tracker.size).toBe(1);
  tracker.clear();
  expect(tracker.size).toBe(0);
});
