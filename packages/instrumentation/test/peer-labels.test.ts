import { createHmac } from 'node:crypto';
import { looksLikeAddress } from '../src/index.js';
import { fastPath } from './support/collect.js';
import { points } from './support/read.js';

const ID = 'f'.repeat(12) + '0123456789abcdef'.repeat(3);

async function labelOf(peerId: unknown, peerIdOptions: object): Promise<unknown> {
  const h = fastPath({ peerId: peerIdOptions });
  h.monitor.recordConnectionReuse(peerId as string);
  const p = points(await h.collect(), 'connectionReuses');
  return p.length === 1 ? p[0]!.attributes.peer_id : p.map((x) => x.attributes.peer_id);
}

describe('peer-label policy', () => {
  it('short mode (the default) keeps the first 10 characters, as Iroh prints ids', async () => {
    expect(await labelOf(ID, {})).toBe(ID.slice(0, 10));
  });

  it('full mode keeps the id; a peer named "other" does not merge with the fold', async () => {
    expect(await labelOf(ID, { mode: 'full' })).toBe(ID);
    expect(await labelOf('other', { mode: 'full' })).toBe('other_');
  });

  it('hash mode is a keyed HMAC-SHA256, 16 hex characters, never the id', async () => {
    const key = 'deployment-secret-0123456789';
    const expected = createHmac('sha256', key).update(ID).digest('hex').slice(0, 16);
    expect(await labelOf(ID, { mode: 'hash', hashKey: key })).toBe(expected);
  });

  it('none mode drops the label', async () => {
    const h = fastPath({ peerId: { mode: 'none' } });
    h.monitor.recordConnectionReuse(ID);
    h.monitor.recordConnectionReuse('another-peer');
    const p = points(await h.collect(), 'connectionReuses');
    expect(p).toEqual([expect.objectContaining({ attributes: {}, value: 2 })]);
  });

  it('fails fast on bad configuration, naming the setting', () => {
    expect(() => fastPath({ peerId: { mode: 'hash' } })).toThrow(/peerId.hashKey/);
    expect(() => fastPath({ peerId: { mode: 'hash', hashKey: 'short' } })).toThrow(/at least 16 bytes/);
    expect(() => fastPath({ peerId: { mode: 'md5' as never } })).toThrow(/peerId.mode/);
    expect(() => fastPath({ peerId: { maxPeers: 0 } })).toThrow(/peerId.maxPeers/);
    expect(() => fastPath({ messageTypes: ['ok', ''] })).toThrow(/messageTypes/);
  });

  it.each([
    '192.168.1.20',
    '10.0.0.1:4433',
    '::1',
    '[fe80::1]:9000',
    '2001:db8::8a2e:370:7334',
    '/ip4/203.0.113.9/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
    '/ip6/::1/udp/4001/quic-v1',
    'node@10.0.0.7',
    'peer-192.168.0.4-east',
  ])('never labels the address %s', (a) => {
    expect(looksLikeAddress(a)).toBe(true);
  });

  it.each([ID, '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', 'node-1', 'abc:def', 'v1.2.3.4567', '/dns4/example.org/tcp/4001', 'build-1.2.3'])('accepts the peer id %s', (id) => {
    expect(looksLikeAddress(id)).toBe(false);
  });
});

describe('learned label values', () => {
  it('never learns an address-looking message type, resource type or protocol version: it is "other"', async () => {
    const h = fastPath({});
    h.monitor.recordMessage(ID, '10.9.9.9', 10);
    h.monitor.recordMessage(ID, 'gossip', 10);
    h.monitor.recordProtocolVersion(ID, '/ip4/10.0.0.1/tcp/1', true);
    const rm = await h.collect();
    expect(new Set(points(rm, 'messagesSent').map((p) => p.attributes.message_type))).toEqual(new Set(['other', 'gossip']));
    expect(points(rm, 'protocolVersion').map((p) => p.attributes.version)).toEqual(['other']);
  });
});

describe('label budget', () => {
  it('says once, through diag, that the budget is spent and later peers fold into "other"', async () => {
    const { diag, DiagLogLevel } = await import('@opentelemetry/api');
    const warnings: string[] = [];
    const noop = (): void => undefined;
    diag.setLogger({ error: noop, info: noop, debug: noop, verbose: noop, warn: (m: string) => void warnings.push(m) }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    try {
      const h = fastPath({ peerId: { maxPeers: 2, mode: 'full' } });
      for (const p of ['peer-1', 'peer-2', 'peer-3', 'peer-4']) h.monitor.recordConnectionReuse(p);
      const labels = points(await h.collect(), 'connectionReuses').map((x) => x.attributes.peer_id);
      expect(new Set(labels)).toEqual(new Set(['peer-1', 'peer-2', 'other']));
      expect(warnings.filter((w) => /label budget/.test(w))).toEqual(['p2p-otel: the peer label budget (peerId.maxPeers = 2) is spent; later peers are counted under peer_id="other"']);
    } finally {
      diag.disable();
    }
  });
});
