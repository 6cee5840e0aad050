import { OtelP2pMonitor, type MetricProducerOptions, type P2pMetricProducer, type PrometheusTextWriter } from '@p2p-otel/instrumentation';

/**
 * An OtelP2pMonitor whose collections wait until the test opens the gate: a scrape then stays in
 * progress for as long as the test wants, without timing games.
 */
export class GatedMonitor extends OtelP2pMonitor {
  private open: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;
  /** Collections started so far (each waits at the gate while it is closed). */
  entered = 0;
  private waiters: (() => void)[] = [];

  close(): void {
    this.open = new Promise((resolve) => (this.release = resolve));
  }

  openGate(): void {
    this.release();
    this.open = Promise.resolve();
  }

  /** Resolves once `count` collections have started. */
  whenEntered(count: number): Promise<void> {
    if (this.entered >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.entered >= count) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  // The scrape endpoint's path (its text writer), held the same way.
  override createPrometheusTextWriter(): PrometheusTextWriter {
    const writer = super.createPrometheusTextWriter();
    const begin = writer.begin.bind(writer);
    writer.begin = async () => {
      await this.enter();
      return begin();
    };
    return writer;
  }

  private async enter(): Promise<void> {
    this.entered++;
    this.waiters.splice(0).forEach((w) => w());
    await this.open;
  }

  override createMetricProducer(options?: MetricProducerOptions): P2pMetricProducer {
    const producer = super.createMetricProducer(options);
    const collect = producer.collect.bind(producer);
    producer.collect = async () => {
      await this.enter();
      return collect();
    };
    return producer;
  }
}
