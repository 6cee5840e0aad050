import { createHash, randomBytes } from 'node:crypto';
import type { ResourceType } from './protocol.js';

/** A content-addressed resource: its id is the SHA-256 of its bytes. */
export interface BlobInfo {
  id: string;
  type: ResourceType;
  size: number;
}

const hash = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The resources a node holds, oldest evicted first beyond `capacity`. */
export class BlobStore {
  private readonly blobs = new Map<string, { info: BlobInfo; data: Uint8Array }>();
  /** Serve damaged bytes (the demo's failing resource sync). */
  corrupt = false;

  constructor(private readonly capacity = 24) {}

  /** Makes a new resource of random content (what this node publishes). */
  create(type: ResourceType, size: number): BlobInfo {
    const data = new Uint8Array(randomBytes(size));
    const info: BlobInfo = { id: hash(data), type, size };
    this.add(info, data);
    return info;
  }

  /** Stores fetched bytes if they match the id; false when they do not (corrupt). */
  put(info: BlobInfo, data: Uint8Array): boolean {
    if (data.byteLength !== info.size || hash(data) !== info.id) return false;
    this.add(info, data);
    return true;
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  list(): BlobInfo[] {
    return [...this.blobs.values()].map((b) => b.info);
  }

  /** `length` bytes from `offset`, or undefined for an unknown blob. */
  read(id: string, offset: number, length: number): Uint8Array | undefined {
    const blob = this.blobs.get(id);
    if (blob === undefined) return undefined;
    const chunk = blob.data.slice(offset, offset + length);
    if (this.corrupt && chunk.byteLength > 0) chunk[0] = (chunk[0] ?? 0) ^ 0xff;
    return chunk;
  }

  private add(info: BlobInfo, data: Uint8Array): void {
    if (info.type === 'snapshot') {
      // A newer snapshot replaces the older ones.
      for (const [id, b] of this.blobs) if (b.info.type === 'snapshot') this.blobs.delete(id);
    }
    this.blobs.set(info.id, { info, data });
    for (const id of this.blobs.keys()) {
      if (this.blobs.size <= this.capacity) break;
      this.blobs.delete(id);
    }
  }
}
