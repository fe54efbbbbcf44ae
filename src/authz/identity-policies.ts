// Identity policy texts, parsed once per isolate (they were validated when they were put, by the rules of
// that day: read as stored ones, document.ts).
import { parsePolicy, type PolicyDocument } from "../policy/document.js";

const parsed = new Map<string, PolicyDocument>();
const MAX_PARSED = 1000;

export function identityPolicies(texts: readonly string[]): PolicyDocument[] {
  return texts.map((text) => {
    let d = parsed.get(text);
    if (!d) {
      d = parsePolicy(text, "stored-identity");
      if (parsed.size >= MAX_PARSED) parsed.clear();
      parsed.set(text, d);
    }
    return d;
  });
}
