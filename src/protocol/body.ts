// Reading a request body within MAX_BODY_BYTES, for both routes (KMS `/` and `/admin`): a body
// is refused as soon as it passes the limit, never read whole first, so that no client can make
// the Worker buffer more than the limit.
import { MAX_BODY_BYTES } from "../kms/limits.js";
import { KmsError } from "./errors.js";

const tooLarge = (limit: number) => new KmsError("ValidationException", `Request body must be at most ${limit} bytes.`);

/**
 * The body's stream failed before its end: in practice the client closed the connection (workerd:
 * "Network connection lost"). A client error, not an internal one, so that no client can fill the
 * logs and the trail with KMSInternalException by hanging up.
 */
const unreadable = () => new KmsError("SerializationException", "The request body could not be read to its end (the connection closed before it was complete).");

/** A read of the body's stream, its failure the client's (above). */
const fromClient = <T>(read: Promise<T>): Promise<T> => read.catch(() => { throw unreadable(); });

/** Reads at most `limit` bytes (MAX_BODY_BYTES; batch calls have their own); a longer body is refused before it is parsed. */
export async function readBody(request: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > limit) {
    await request.body?.cancel(); // refused unread: the runtime may drop it rather than buffer it
    throw tooLarge(limit);
  }
  if (!request.body) return new Uint8Array(0);
  // A declared length (without chunked framing) bounds the body, so it is read in one call.
  if (length !== null && !request.headers.has("transfer-encoding")) {
    const body = new Uint8Array(await fromClient(request.arrayBuffer()));
    if (body.length > limit) throw tooLarge(limit);
    return body;
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await fromClient(reader.read());
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { body.set(c, o); o += c.length; }
  return body;
}
