// Where a secret might leak: whether bytes occur anywhere in stored values, responses or audit
// records — as bytes, hex or base64 (shared by the tests that look).
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const b64of = (b: Uint8Array) => btoa(String.fromCharCode(...b));

/** Every Uint8Array and string anywhere in a value. */
export function leaves(v: unknown, out: (Uint8Array | string)[] = []): (Uint8Array | string)[] {
  if (v instanceof Uint8Array) out.push(v);
  else if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) leaves(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) leaves(x, out);
  return out;
}

/** Whether `needle` occurs anywhere in `values`, as bytes, hex or base64. */
export function containsSecret(values: unknown[], needle: Uint8Array): boolean {
  const forms = [hex(needle), b64of(needle)];
  for (const leaf of values.flatMap((v) => leaves(v))) {
    if (typeof leaf === "string") {
      if (forms.some((f) => leaf.includes(f))) return true;
      continue;
    }
    for (let i = 0; i + needle.length <= leaf.length; i++) {
      let j = 0;
      while (j < needle.length && leaf[i + j] === needle[j]) j++;
      if (j === needle.length) return true;
    }
  }
  return false;
}
