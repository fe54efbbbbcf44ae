// SigV4 signing with @smithy/signature-v4 (the AWS SDK's own signer), backed by WebCrypto so
// that it runs in Node (the CLI, benchmarks) and inside workerd (tests).
import { SignatureV4 } from "@smithy/signature-v4";

class WebCryptoSha256 {
  private readonly secret?: Uint8Array<ArrayBuffer>;
  private parts: Uint8Array[] = [];
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    if (secret !== undefined) {
      this.secret = Uint8Array.from(typeof secret === "string" ? new TextEncoder().encode(secret)
        : secret instanceof ArrayBuffer ? new Uint8Array(secret) : new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength));
    }
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.parts.push(typeof data === "string" ? new TextEncoder().encode(data)
      : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  async digest(): Promise<Uint8Array> {
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of this.parts) { all.set(p, o); o += p.length; }
    if (this.secret) {
      const k = await crypto.subtle.importKey("raw", this.secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      return new Uint8Array(await crypto.subtle.sign("HMAC", k, all));
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  }
  reset(): void {
    this.parts = [];
  }
}

export interface SignOptions {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service?: string;
  date?: Date;
  /** Also sign x-amz-content-sha256, as the JS SDK v3 does. */
  contentSha256?: boolean;
  extraHeaders?: Record<string, string>;
  unsignableHeaders?: Set<string>;
}

export async function signRequest(url: string, target: string, body: string, o: SignOptions): Promise<Record<string, string>> {
  const u = new URL(url);
  const path = u.pathname;
  const signer = new SignatureV4({
    service: o.service ?? "kms",
    region: o.region,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    sha256: WebCryptoSha256,
    applyChecksum: o.contentSha256 ?? false,
  });
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port ? Number(u.port) : undefined,
      path,
      query: {},
      headers: {
        host: u.host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": target.includes(".") ? target : `TrentService.${target}`,
        ...(o.extraHeaders ?? {}),
      },
      body,
    },
    { signingDate: o.date ?? new Date(), unsignableHeaders: o.unsignableHeaders },
  );
  return signed.headers as Record<string, string>;
}
