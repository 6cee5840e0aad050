import { isIP } from 'node:net';

/**
 * Every IPv4 or IPv6 address in `text`, however embedded: in a label value, a multiaddr
 * (`/ip4/10.0.0.1/tcp/1`), with a port (`10.0.0.1:4001`, `[::1]:4001`), IPv4-mapped
 * (`::ffff:10.0.0.1`), or in a protobuf string field. Candidates are runs of the characters
 * addresses are made of, each confirmed with net.isIP, so version numbers, bucket bounds and hex
 * hashes are not taken for addresses.
 */
export function findIpAddresses(text: string): string[] {
  const found = new Set<string>();
  for (const run of text.match(/[0-9A-Fa-f:.]{2,}/g) ?? []) {
    // The run itself (IPv6, IPv4-mapped), dotted quads inside it (an IPv4 with a port), and the
    // run without a trailing :port.
    const candidates = [run, run.replace(/:\d{1,5}$/, ''), ...(run.match(/\d{1,3}(?:\.\d{1,3}){3}/g) ?? [])];
    // An IPv6 address inside a longer run (hex characters or a port glued to it): every window
    // of 2 to 9 colon-separated groups.
    if (run.includes(':')) {
      const groups = run.split(':');
      for (let i = 0; i < groups.length; i++) {
        for (let j = i + 2; j <= Math.min(groups.length, i + 9); j++) candidates.push(groups.slice(i, j).join(':'));
      }
    }
    for (const c of candidates) {
      const trimmed = c.replace(/^\.+|\.+$/g, '');
      if (isIP(trimmed) !== 0) found.add(trimmed);
    }
  }
  return [...found];
}
