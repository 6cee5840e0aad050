import { classifyError } from '@p2p-otel/instrumentation';
import { abnormalCloseType, alpnLabel, classifyIrohError, irohErrorMessage, PACKAGE_NAME, PACKAGE_VERSION } from '../src/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Messages of @number0/iroh 1.1.0 errors, captured from real runs on loopback (RUST_BACKTRACE=1). */
const IROH = '/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/iroh-1.0.2/src/endpoint.rs';
const POLL = '/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/task/poll.rs:258:39';
const napiError = (message: string): Error => Object.assign(new Error(message), { code: 'GenericFailure' });
const connecting = (last: string): string => `ConnectError::Connecting (${IROH}:1060:20)\nCaused by:\n    ConnectingError::ConnectionError (${POLL})\n    ${last}\n`;
const BACKTRACE =
  '\nStack backtrace:\n   0: <anyhow::Error>::msg::<alloc::string::String>\n   1: anyhow::__private::format_err\n' +
  '   2: <number0_iroh::endpoint::Endpoint>::connect::{closure#0}::{closure#0}\n' +
  '   5: <tokio::runtime::scheduler::multi_thread::worker::Context>::run_task\n  10: start_thread\n             at ./nptl/pthread_create.c:442:8\n';

describe('classifyIrohError', () => {
  it.each([
    ['refused (incoming.refuse())', connecting('aborted by peer: the server refused to accept a new connection'), 'refused'],
    ['timed out (no answer in 30 s: closed peer, wrong node id, unserved ALPN)', connecting('timed out'), 'timeout'],
    [
      'no address for the node id',
      `ConnectError::Connect (${IROH}:1057:26)\nCaused by:\n    No addressing information available (${IROH}:1127:27)\n    No address lookup configured (x/address_lookup.rs:624:45)\n`,
      'dns',
    ],
    ['dialling from a closed endpoint', `ConnectError::Connect (${IROH}:1057:26)\nCaused by:\n    Endpoint is closed (${IROH}:1097:24)\n`, 'other'],
    ['the dialling endpoint closed during the dial', connecting('closed'), 'other'],
  ])('%s', (_, message, type) => {
    expect(classifyIrohError(napiError(message))).toBe(type);
    expect(classifyIrohError(napiError(message + BACKTRACE))).toBe(type);
  });

  it('ignores source locations and backtrace frames', () => {
    const message = `ConnectError::Connecting (/x/tokio-1.47.1/src/time/timeout.rs:12:3)\nCaused by:\n    aborted by peer: the server refused to accept a new connection\n${BACKTRACE}   7: tokio::time::timeout::Timeout<F>::poll\n`;
    expect(classifyError(napiError(message))).toBe('timeout'); // the raw message misleads
    expect(classifyIrohError(napiError(message))).toBe('refused');
    expect(irohErrorMessage(message)).toBe('ConnectError::Connecting\nCaused by:\n    aborted by peer: the server refused to accept a new connection');
  });

  it('passes anything else to classifyError', () => {
    expect(classifyIrohError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('refused');
    expect(classifyIrohError('timed out')).toBe('timeout');
    expect(classifyIrohError(undefined)).toBe('other');
  });
});

describe('abnormalCloseType', () => {
  it.each([
    ['closed', undefined], // closed by this side (close() or its endpoint)
    ['closed by peer: bye (code 0)', undefined], // the peer application closed it
    ['closed by peer: 0', undefined], // the peer dropped it or closed its endpoint
    [undefined, undefined], // dropped by this application, garbage-collected
    // its own endpoint closed while the connection was open (a shutdown race, seen under load)
    ['the endpoint encountered an internal error and cannot continue with the connection: endpoint driver future was dropped', undefined],
    ['timed out', 'timeout'], // idle timeout
    ['reset by peer', 'reset'],
    ['aborted by peer: the cryptographic handshake failed: error 40', 'tls'],
    ['aborted by peer: PROTOCOL_VIOLATION', 'reset'],
    ['CIDs exhausted', 'other'],
  ] as const)('%s → %s', (reason, type) => {
    expect(abnormalCloseType(reason)).toBe(type);
  });
});

describe('alpnLabel', () => {
  it('decodes printable ALPNs and hex-encodes the rest', () => {
    expect(alpnLabel(Array.from(Buffer.from('my-app/raft/2')))).toBe('my-app/raft/2');
    expect(alpnLabel([0, 1, 255])).toBe('0x0001ff');
    expect(alpnLabel([])).toBe('');
  });
});

it('version.ts matches package.json', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  expect([PACKAGE_NAME, PACKAGE_VERSION]).toEqual([pkg.name, pkg.version]);
});
