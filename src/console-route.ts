// Serves the console (a browser app, src/console; docs/console.md) at /console. The pages and
// assets are public, like the SDKs' code: they carry no data and no privilege. Every call the
// console makes is an ordinary SigV4-signed KMS or admin request, which the one authorizer
// decides like any other, so this route is the deliberate exception to "every operation is
// authorized": it serves no operation.
import type { Context } from "hono";
import { CONSOLE_ASSETS } from "../build/console-assets.js";

// Nothing but our own script, style and API: no inline script, no other origin, no framing.
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EdgeKMS console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/${CONSOLE_ASSETS.css.name}">
<script type="module" src="/console/${CONSOLE_ASSETS.js.name}"></script>
</head>
<body><div id="app"><noscript>The EdgeKMS console needs JavaScript.</noscript></div></body>
</html>`;

export function consolePage(c: Context): Response {
  return c.body(PAGE, 200, { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
}

/** A hashed asset: cached for a year (its name changes with its content). */
export function consoleAsset(c: Context): Response {
  const name = c.req.param("name");
  const asset = [CONSOLE_ASSETS.js, CONSOLE_ASSETS.css].find((a) => a.name === name);
  if (!asset) return c.body("Not found", 404, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" });
  return c.body(asset.body, 200, { ...SECURITY_HEADERS, "content-type": asset.type, "cache-control": "public, max-age=31536000, immutable" });
}
