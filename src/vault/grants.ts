// A key's grants (docs/formats.md, "Grants"): kept in memory, stored as "grant:<id>" rows. The
// authorizer reads them as GrantFacts; nothing here decides who may do what.
import type { GrantFacts } from "../authz/authorize.js";
import type { CreateGrantParams, GrantListEntry } from "./types.js";

const PREFIX = "grant:";

/** A stored grant. `tokenSecret` is only in grants stored before token format v2; it is unused. */
export type Grant = GrantListEntry & { tokenSecret?: string };

export const listEntry = ({ tokenSecret: _unused, ...entry }: Grant): GrantListEntry => entry;

export const grantFacts = (g: Grant): GrantFacts => ({
  grantId: g.GrantId,
  grantee: g.GranteePrincipal,
  operations: g.Operations,
  ...(g.Constraints ? { constraints: g.Constraints } : {}),
  ...(g.RetiringPrincipal !== undefined ? { retiringPrincipal: g.RetiringPrincipal } : {}),
  issuingAccount: g.IssuingAccount,
});

/** The account whose catalog indexes a grant for ListRetirableGrants, and its index entry. */
export function retirementIndex(g: Grant): { account: string; entry: string } | undefined {
  const p = g.RetiringPrincipal;
  const account = p ? /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(p)?.[1] ?? (/^\d{12}$/.test(p) ? p : undefined) : undefined;
  return account ? { account, entry: `${p}|${g.KeyId}|${g.GrantId}` } : undefined;
}

export class GrantStore {
  private readonly grants = new Map<string, Grant>();

  constructor(private readonly storage: DurableObjectStorage) {}

  async load(): Promise<void> {
    for (const g of (await this.storage.list<Grant>({ prefix: PREFIX })).values()) this.grants.set(g.GrantId, g);
  }

  get size(): number {
    return this.grants.size;
  }

  get(id: string): Grant | undefined {
    return this.grants.get(id);
  }

  *facts(): Iterable<GrantFacts> {
    for (const g of this.grants.values()) yield grantFacts(g);
  }

  /** A grant with this name and the same grantee, operations, constraints and retiring principal (CreateGrant is idempotent by Name). */
  sameNamed(p: CreateGrantParams): Grant | undefined {
    if (p.name === undefined) return undefined;
    const same = [...this.grants.values()].find((g) => g.Name === p.name);
    const shape = (ops: readonly string[], c: unknown, r: string | undefined) => JSON.stringify([ops, c ?? null, r ?? null]);
    return same && same.GranteePrincipal === p.granteePrincipal && shape(same.Operations, same.Constraints, same.RetiringPrincipal) === shape(p.operations, p.constraints, p.retiringPrincipal)
      ? same
      : undefined;
  }

  list(filter: { grantId?: string; granteePrincipal?: string }): GrantListEntry[] {
    return [...this.grants.values()]
      .filter((g) => (filter.grantId === undefined || g.GrantId === filter.grantId) && (filter.granteePrincipal === undefined || g.GranteePrincipal === filter.granteePrincipal))
      .map(listEntry);
  }

  /** Adds a grant; the write joins the caller's next storage commit. */
  add(g: Grant): void {
    this.grants.set(g.GrantId, g);
    void this.storage.put(PREFIX + g.GrantId, g);
  }

  remove(g: Grant): void {
    this.grants.delete(g.GrantId);
    void this.storage.delete(PREFIX + g.GrantId);
  }

  clear(): void {
    this.grants.clear();
  }
}
