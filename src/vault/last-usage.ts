// GetKeyLastUsage: the key's last successful cryptographic operation, kept in the vault's memory
// and persisted at most once a minute, so that the data path does not pay a storage write per
// request (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html). How
// stale it can be is in docs/architecture.md, "Last usage".

/** The operations AWS tracks (KeyLastUsageTrackingOperation). */
export const TRACKED_OPERATIONS: ReadonlySet<string> = new Set([
  "Decapsulate", "Decrypt", "DeriveSharedSecret", "Encapsulate", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
  "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "GenerateMac", "ReEncrypt", "Sign", "Verify", "VerifyMac",
]);

/** The vault's storage key of the persisted last usage. */
export const LAST_USAGE = "last-usage";
/** At most one write of the last usage per this many milliseconds (and one more on the flush timer). */
export const LAST_USAGE_PERSIST_MS = 60_000;
/** When EdgeKMS began tracking: keys made before it report it as their TrackingStartDate (AWS: the later of the two). */
export const TRACKING_EPOCH_MS = Date.UTC(2026, 11, 2);

export interface KeyLastUsage {
  operation: string;
  /** ms */
  at: number;
  eventId: string;
  requestId: string;
}

/**
 * The last usage of one key. `note` runs on every tracked success: it updates memory, and writes
 * only when nothing was persisted yet or the last write is a minute old; otherwise a timer writes
 * what is pending when the minute is up (if the vault is still in memory then).
 */
export class LastUsageTracker {
  private usage: KeyLastUsage | undefined;
  private persisted: KeyLastUsage | undefined;
  private persistedAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly storage: DurableObjectStorage, private readonly enabled: boolean) {}

  async load(): Promise<void> {
    this.usage = this.persisted = await this.storage.get<KeyLastUsage>(LAST_USAGE);
  }

  get last(): KeyLastUsage | undefined {
    return this.usage;
  }

  note(usage: KeyLastUsage): void {
    if (!this.enabled) return;
    this.usage = usage;
    const wait = this.persisted === undefined ? 0 : this.persistedAt + LAST_USAGE_PERSIST_MS - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  /** Writes the pending usage, if any (also called with every other write of the vault: it rides along). */
  flush(): void {
    if (this.usage === undefined || this.usage === this.persisted) return;
    // Not awaited: the output gate holds the response until the write is durable.
    void this.storage.put(LAST_USAGE, this.usage);
    this.persisted = this.usage;
    this.persistedAt = Date.now();
  }

  /** The key is destroyed. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.usage = this.persisted = undefined;
  }
}
