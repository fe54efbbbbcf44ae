// The fetch a KMS client sends with when given none (kms-client.ts): the global fetch, unless an
// entry point installs another (the Node entry installs node:http's, fetch-node.ts). A module of its
// own, with no imports, so that installing one loads neither the KMS client nor anything else.
let installed: typeof fetch | undefined;

export function setDefaultFetch(f: typeof fetch | undefined): void {
  installed = f;
}

/** The installed fetch, else the global one (looked up per call). */
export const defaultFetch = ((...a: Parameters<typeof fetch>) => (installed ?? fetch)(...a)) as typeof fetch;
