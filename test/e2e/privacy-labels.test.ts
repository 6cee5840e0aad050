/**
 * Privacy of what leaves the process: with peer-id hashing on, neither a full Prometheus scrape
 * nor an OTLP export (JSON and protobuf) contains a raw peer id or any IP address, even when the
 * application passes addresses and multiaddrs as peer ids. By default (short ids) no IP address
 * appears either. The scans look at the whole payload, not only at peer_id labels.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { OtlpProtocol } from '@p2p-otel/sdk';
import { startP2pTelemetry, type P2pTelemetry } from '@p2p-otel/sdk';
import { findIpAddresses } from '../support/address-scan';
import { request } from '../support/http-request';
import { decodeOtlpExport, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { parsePrometheusText } from '../support/prometheus-text';
import { ADDRESS_PEER_IDS, KNOWN_PEER_IDS, LOCAL_ID, hashedLabel, hashedMonitorConfig, recordPeers } from '../support/privacy-scenario';

const ALL_IDS = [...KNOWN_PEER_IDS, ...ADDRESS_PEER_IDS];
const REPO_ROOT = join(__dirname, '..', '..');

let telemetry: P2pTelemetry | undefined;
let receiver: OtlpReceiver | undefined;

afterEach(async () => {
  try {
    await telemetry?.shutdown();
  } finally {
    telemetry = undefined;
    await receiver?.close();
    receiver = undefined;
  }
});

/** Raw ids (and, for ordinary ids, their 10-character short form) found in `text`. */
function rawIdsIn(text: string, ids: readonly string[]): string[] {
  const leaks = ids.filter((id) => text.includes(id));
  for (const id of KNOWN_PEER_IDS) if (ids.includes(id) && text.includes(id.slice(0, 10))) leaks.push(`${id.slice(0, 10)}…`);
  return leaks;
}

async function scrape(): Promise<string> {
  const response = await request(telemetry?.metricsUrl as string);
  expect(response.status).toBe(200);
  return response.body;
}

function rejectedAsAddress(body: string): number {
  const family = parsePrometheusText(body).get('p2p_monitor_rejected_records_total');
  return family?.samples.find((s) => s.labels.reason === 'peer_id_is_address')?.value ?? 0;
}

test('the address scan finds every form of address used here (it is not vacuous)', () => {
  for (const id of ADDRESS_PEER_IDS) expect({ id, found: findIpAddresses(`x{peer_id="${id}"} 1`).length > 0 }).toEqual({ id, found: true });
  expect(findIpAddresses('le="0.005",otel_scope_version="0.1.0",telemetry_sdk_version="2.12.1" 1.5e+3 deadbeefcafe0123 12:30:45')).toEqual([]);
});

test('hash mode: a full Prometheus scrape holds no raw peer id and no IP address', async () => {
  telemetry = await startP2pTelemetry({ prometheus: { port: 0 }, registerGlobal: false, monitor: hashedMonitorConfig() });
  recordPeers(telemetry.monitor, ALL_IDS);
  const body = await scrape();

  expect(findIpAddresses(body)).toEqual([]);
  expect(rawIdsIn(body, [...ALL_IDS, LOCAL_ID])).toEqual([]);
  // The records did land: ordinary ids and multiaddrs as their HMACs, addresses rejected.
  for (const id of KNOWN_PEER_IDS) expect(body).toContain(`peer_id="${hashedLabel(id)}"`);
  for (const id of ADDRESS_PEER_IDS) expect(body).not.toContain(hashedLabel(id));
  expect(rejectedAsAddress(body)).toBeGreaterThanOrEqual(ADDRESS_PEER_IDS.length);
  const peerLabels = new Set([...parsePrometheusText(body).values()].flatMap((f) => f.samples.map((s) => s.labels.peer_id)).filter((v) => v !== undefined));
  expect([...peerLabels].filter((v) => !/^[0-9a-f]{16}$/.test(v as string) && v !== 'other')).toEqual([]);
});

test('default mode (short ids): no IP address in a scrape; addresses are rejected, not shortened', async () => {
  telemetry = await startP2pTelemetry({ prometheus: { port: 0 }, registerGlobal: false, monitor: { localPeerId: LOCAL_ID, messageTypes: ['ping'] } });
  recordPeers(telemetry.monitor, [...KNOWN_PEER_IDS, ...ADDRESS_PEER_IDS]);
  const body = await scrape();

  expect(findIpAddresses(body)).toEqual([]);
  expect(KNOWN_PEER_IDS.filter((id) => body.includes(id))).toEqual([]); // only their short form
  for (const id of KNOWN_PEER_IDS) expect(body).toContain(`peer_id="${id.slice(0, 10)}"`);
  expect(rejectedAsAddress(body)).toBeGreaterThanOrEqual(ADDRESS_PEER_IDS.length);
});

/** Runs test/support/privacy-otlp-child.ts to completion. */
function exportFromChild(url: string, protocol: OtlpProtocol): Promise<void> {
  const child = fork(join(__dirname, '..', 'support', 'privacy-otlp-child.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PRIVACY_OTLP_URL: url, PRIVACY_OTLP_PROTOCOL: protocol },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`privacy OTLP child exited with ${code ?? signal}`));
    });
  });
}

describe.each<OtlpProtocol>(['http/json', 'http/protobuf'])('hash mode over OTLP %s', (protocol) => {
  test('no raw peer id and no IP address anywhere in the exported payload', async () => {
    receiver = await startOtlpReceiver();
    await exportFromChild(receiver.url, protocol);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);

    const peerIds = new Set<string>();
    for (const r of receiver.requests) {
      const raw = r.body.toString('latin1'); // protobuf strings are UTF-8 bytes: ASCII ids show as they are
      const decoded = decodeOtlpExport(r);
      const readable = JSON.stringify({ resource: decoded.resource, metrics: [...decoded.metrics.values()] });
      for (const text of [raw, readable]) {
        expect(findIpAddresses(text)).toEqual([]);
        expect(rawIdsIn(text, [...ALL_IDS, LOCAL_ID])).toEqual([]);
      }
      for (const m of decoded.metrics.values()) for (const p of m.points) if (p.attributes.peer_id !== undefined) peerIds.add(String(p.attributes.peer_id));
      expect(decoded.resource['service.name']).toBe('privacy-test');
    }
    // The records did reach the payload, hashed.
    const expected = KNOWN_PEER_IDS.map(hashedLabel);
    expect(expected.filter((label) => !peerIds.has(label))).toEqual([]);
    expect([...peerIds].filter((v) => !expected.includes(v) && v !== 'other')).toEqual([]);
  });
});
