import type { SessionInfo } from '../src/user-index.js';

/** Everything the home page shows, gathered by the route from `req.session` and the management API. */
export interface HomeView {
  /** The user bound by login(), if signed in. */
  readonly userId: string | undefined;
  /** The display name stored in the session. */
  readonly name: string | undefined;
  readonly count: number;
  /** True once a session record exists (req.session.id is set). */
  readonly hasSession: boolean;
  /** True when the store is down and the page runs on an empty, unsaved session. */
  readonly degraded: boolean;
  /** This session's opaque handle. */
  readonly handle: string | undefined;
  /** All live sessions of the signed-in user, this one included. */
  readonly devices: readonly SessionInfo[];
  /** A snapshot of the session data, as req.session.all() returns it. */
  readonly data: Readonly<Record<string, unknown>>;
  /** A one-time message left by the previous action. */
  readonly notice: string | undefined;
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The whole home page: sign-in form when signed out, session and devices when signed in. */
export function renderHome(view: HomeView): string {
  const sections = [
    view.degraded
      ? `<p class="warn" role="alert">The session store is unreachable: this page runs on an empty session that is not saved.</p>`
      : '',
    view.notice === undefined
      ? ''
      : `<p class="notice" role="status">${escapeHtml(view.notice)}</p>`,
    view.userId === undefined ? signInCard() : greetingCard(view),
    counterCard(view.count),
    view.userId === undefined
      ? anonymousNote(view.hasSession)
      : sessionCard(view) + devicesCard(view),
    dataCard(view.data),
  ];
  return layout('kvsession demo', sections.join('\n'));
}

/** A minimal error page; `detail` is plain text. */
export function renderError(status: number, detail: string): string {
  return layout(
    `Error ${status}`,
    `<section class="card"><h2>Error ${status}</h2><p>${escapeHtml(detail)}</p><p><a href="/">Back</a></p></section>`,
  );
}

function signInCard(): string {
  return `<section class="card" id="sign-in">
  <h2>Sign in</h2>
  <p>Any name will do: this demo has no passwords, it shows what happens to the session.</p>
  <form method="post" action="/login">
    <label for="name">Name</label>
    <input id="name" name="name" required maxlength="64" autocomplete="username" autofocus>
    <button type="submit">Sign in</button>
  </form>
</section>`;
}

function greetingCard(view: HomeView): string {
  return `<section class="card" id="greeting">
  <h2>Hello, <span id="user-name">${escapeHtml(view.name ?? view.userId ?? '')}</span></h2>
  <div class="row">
    ${postButton('/regenerate', 'New session ID', 'regenerate')}
    ${postButton('/logout', 'Sign out', 'sign-out')}
  </div>
</section>`;
}

function counterCard(count: number): string {
  return `<section class="card" id="counter">
  <h2>Counter</h2>
  <p class="big"><output id="count">${count}</output></p>
  <div class="row">${postButton('/count', '+1', 'increment')} ${postButton('/count/reset', 'Reset', 'reset-count')}</div>
</section>`;
}

function anonymousNote(hasSession: boolean): string {
  const text = hasSession
    ? 'You have an anonymous session: the counter lives in it. Signing in keeps it and gives the session a new ID.'
    : 'No session yet: nothing is stored and no cookie is set until something is written.';
  return `<section class="card" id="anonymous"><h2>Your session</h2><p>${text}</p></section>`;
}

function sessionCard(view: HomeView): string {
  const current = view.devices.find((d) => d.handle === view.handle);
  const rows =
    current === undefined
      ? '<p>This session is not in your device list.</p>'
      : `<dl>
    <dt>Handle</dt><dd><code id="handle">${escapeHtml(current.handle)}</code></dd>
    <dt>Created</dt><dd>${time(current.createdAt)}</dd>
    <dt>Last active</dt><dd>${time(current.lastActiveAt)}</dd>
    <dt>Expires</dt><dd>${time(current.expiresAt)}</dd>
  </dl>`;
  return `<section class="card" id="session">
  <h2>Your session</h2>
  ${rows}
  <p class="hint">The handle is not the session ID: the ID is only in your cookie, signed, and the store keeps a hash of it.</p>
</section>`;
}

function devicesCard(view: HomeView): string {
  const items = view.devices
    .map((d) => {
      const self = d.handle === view.handle ? ' <strong>(this device)</strong>' : '';
      return `<li data-handle="${escapeHtml(d.handle)}"><code>${escapeHtml(d.handle.slice(0, 8))}</code>${self} · last active ${time(d.lastActiveAt)}</li>`;
    })
    .join('\n    ');
  const others = view.devices.filter((d) => d.handle !== view.handle).length;
  return `<section class="card" id="devices">
  <h2>Your devices <small>(${view.devices.length})</small></h2>
  <ul>
    ${items}
  </ul>
  ${others > 0 ? postButton('/devices/sign-out-others', `Sign out ${others} other device${others === 1 ? '' : 's'}`, 'sign-out-others') : '<p class="hint">Sign in with the same name in another browser to see it here.</p>'}
</section>`;
}

function dataCard(data: Readonly<Record<string, unknown>>): string {
  const json = JSON.stringify(data, null, 2);
  const empty = Object.keys(data).length === 0;
  return `<section class="card" id="data">
  <h2>Session data</h2>
  <pre id="session-data">${escapeHtml(json)}</pre>
  ${empty ? '' : `<div class="row">${postButton('/data/clear', 'Clear data', 'clear-data')}</div><p class="hint">Clearing drops the data but not the sign-in: login() binds the session, it is not a data key.</p>`}
</section>`;
}

function postButton(action: string, label: string, id: string): string {
  return `<form method="post" action="${action}" class="inline"><button type="submit" id="${id}">${escapeHtml(label)}</button></form>`;
}

function time(date: Date): string {
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  :root { color-scheme: light; --accent: #2563eb; --muted: #64748b; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f1f5f9; color: #0f172a; }
  header { background: #0f172a; color: #fff; padding: 1rem 1.5rem; }
  header h1 { margin: 0; font-size: 1.25rem; } header p { margin: .25rem 0 0; color: #cbd5e1; font-size: .9rem; }
  main { max-width: 46rem; margin: 1.5rem auto; padding: 0 1rem; display: grid; gap: 1rem; }
  .card { background: #fff; border-radius: .75rem; padding: 1rem 1.25rem; box-shadow: 0 1px 3px #0f172a1f; }
  .card h2 { margin: 0 0 .5rem; font-size: 1.1rem; } .card small { color: var(--muted); font-weight: normal; }
  .big { font-size: 2.5rem; font-weight: 700; margin: 0 0 .5rem; }
  .row { display: flex; gap: .5rem; flex-wrap: wrap; margin: .5rem 0 0; } .inline { display: inline; }
  button { font: inherit; border: 0; border-radius: .5rem; padding: .4rem .9rem; background: var(--accent); color: #fff; cursor: pointer; }
  button:hover { filter: brightness(1.1); } #sign-out, #sign-out-others, #clear-data { background: #dc2626; } #reset-count, #regenerate { background: #475569; }
  input { font: inherit; padding: .4rem .6rem; border: 1px solid #cbd5e1; border-radius: .5rem; margin: 0 .5rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; } dt { color: var(--muted); } dd { margin: 0; }
  pre { background: #f8fafc; border: 1px solid #e2e8f0; border-radius: .5rem; padding: .75rem; overflow: auto; margin: 0; }
  ul { padding-left: 1.25rem; margin: .25rem 0 .75rem; } .hint { color: var(--muted); font-size: .875rem; margin: .5rem 0 0; }
  .notice { background: #dcfce7; color: #166534; padding: .6rem 1rem; border-radius: .5rem; margin: 0; }
  .warn { background: #fef3c7; color: #92400e; padding: .6rem 1rem; border-radius: .5rem; margin: 0; }
</style>
</head>
<body>
<header><h1>kvsession demo</h1><p>Server-side sessions for Express: a signed random ID in the cookie, the data in the store.</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}
