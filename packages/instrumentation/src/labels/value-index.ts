import { OTHER } from '../schema/label-values.js';
import { looksLikeAddress } from './peer-labels.js';

/**
 * Maps a label value to a dense index, so that series live at fixed offsets of typed arrays.
 * The set is fixed at construction (its size is the stride of every array that uses it):
 * either the values given, or up to `learn` values learned first-come. Anything else is `other`
 * when the set has it, otherwise -1 (the caller drops the record).
 */
export class ValueIndex {
  /** index → value; filled as values are learned. */
  readonly values: string[];
  readonly size: number;
  readonly otherIndex: number;
  private readonly map = new Map<string, number>();
  private learned = 0;
  private readonly learnCapacity: number;

  constructor(values: readonly string[], learn = 0) {
    const declared = values.filter((v) => v !== OTHER);
    const hasOther = values.includes(OTHER) || learn > 0 || declared.length !== values.length;
    this.values = [...declared];
    declared.forEach((v, i) => this.map.set(v, i));
    this.learnCapacity = learn;
    for (let i = 0; i < learn; i++) this.values.push('');
    this.otherIndex = hasOther ? this.values.length : -1;
    if (hasOther) {
      this.values.push(OTHER);
      this.map.set(OTHER, this.otherIndex);
    }
    this.size = this.values.length;
  }

  /**
   * Dense index of `value` (declared, or learned now while the budget lasts), else -1.
   * Callers fold -1 into `otherIndex`, counting it as a rejection where the set is closed.
   */
  indexOf(value: unknown): number {
    if (typeof value !== 'string') return -1;
    const i = this.map.get(value);
    if (i !== undefined) return i;
    return this.learnCapacity === 0 ? -1 : this.learn(value);
  }

  /** Index of `value` if declared or already learned, else -1: never learns, never folds. */
  existingIndex(value: string): number {
    return this.map.get(value) ?? -1;
  }

  /** Whether `value` maps to itself (not folded, not dropped). */
  has(value: string): boolean {
    return this.map.has(value);
  }

  private learn(value: string): number {
    // An address-looking value is never learned as a label (it is `other`): labels reach every backend.
    if (this.learned >= this.learnCapacity || value.length === 0 || value.length > MAX_LEARNED_VALUE_LENGTH || looksLikeAddress(value)) {
      return -1;
    }
    const i = this.values.length - 1 - this.learnCapacity + this.learned; // learned slots sit before `other`
    this.values[i] = value;
    this.map.set(value, i);
    this.learned++;
    return i;
  }
}

/** Longer values are never learned as label values (they are `other`). */
export const MAX_LEARNED_VALUE_LENGTH = 64;
