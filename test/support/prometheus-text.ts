/** A small, strict parser of the Prometheus text exposition format (0.0.4), for tests. */

export interface PromSample {
  /** The series name, suffix included (`_bucket`, `_sum`, `_count`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  /** From `# TYPE`, or `untyped`. */
  type: string;
  help?: string;
  unit?: string;
  readonly samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const SUFFIXES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/** Metric families by name. Throws on any line it cannot read, naming the line. */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const family = (name: string): PromFamily => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { type: 'untyped', samples: [] }));
    return f;
  };
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const fail = (why: string): never => {
      throw new Error(`Prometheus text line ${i + 1} (${JSON.stringify(raw)}): ${why}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE|UNIT)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (m === null) return; // a plain comment
      const [, keyword, name, rest = ''] = m as unknown as [string, string, string, string?];
      const f = family(name);
      if (keyword === 'TYPE') f.type = rest;
      else if (keyword === 'HELP') f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      else f.unit = rest;
      return;
    }
    const name = NAME.exec(line)?.[0] ?? fail('no metric name');
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        while (line[pos] === ' ') pos++;
        if (line[pos] === '}') break;
        const key = LABEL_NAME.exec(line.slice(pos))?.[0] ?? fail(`bad label name at column ${pos + 1}`);
        pos += key.length;
        if (line[pos] !== '=' || line[pos + 1] !== '"') fail(`expected =" after label ${key}`);
        pos += 2;
        let value = '';
        for (; pos < line.length && line[pos] !== '"'; pos++) {
          if (line[pos] !== '\\') {
            value += line[pos];
            continue;
          }
          const next = line[++pos];
          if (next === 'n') value += '\n';
          else if (next === '\\' || next === '"') value += next;
          else fail(`bad escape \\${next} in label ${key}`);
        }
        if (pos >= line.length) fail(`unterminated value of label ${key}`);
        if (key in labels) fail(`duplicate label ${key}`);
        labels[key] = value;
        pos++;
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') fail(`expected , or } after label ${key}`);
      }
      pos++;
    }
    const [valueText, timestamp, ...extra] = line.slice(pos).trim().split(/\s+/);
    if (valueText === undefined || valueText === '' || extra.length > 0 || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) fail('expected a value and an optional timestamp');
    const value = parseValue(valueText as string) ?? fail(`bad value ${valueText}`);
    family(familyOf(name, families)).samples.push({ name, labels, value });
  });
  return families;
}

function familyOf(sample: string, families: Map<string, PromFamily>): string {
  if (families.has(sample)) return sample;
  for (const [name, f] of families) {
    if ((SUFFIXES[f.type] ?? []).some((s) => sample === name + s)) return name;
  }
  return sample;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const v = Number(text);
  return Number.isNaN(v) ? undefined : v;
}
