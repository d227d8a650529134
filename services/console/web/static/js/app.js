// The console's entry point: a small history.pushState router that renders
// one page into <main>, turns every 401 into the login form and keeps the
// header's navigation and log-out button in step.
import { h, announce } from './dom.js';
import { api, Unauthorized, APIError } from './api.js';
import { renderLogin } from './pages/login.js';
import { renderOverview } from './pages/overview.js';
import { renderShipments } from './pages/shipments.js';
import { renderShipment } from './pages/shipment.js';
import { renderDeadletters, renderDeadletter } from './pages/deadletters.js';
import { renderLive } from './pages/live.js';

const routes = [
  { re: /^\/$/, nav: 'overview', render: renderOverview },
  { re: /^\/shipments\/?$/, nav: 'shipments', render: renderShipments },
  { re: /^\/shipments\/([^/]+)\/([^/]+)\/?$/, nav: 'shipments', render: renderShipment },
  { re: /^\/deadletters\/?$/, nav: 'deadletters', render: renderDeadletters },
  { re: /^\/deadletters\/([^/]+)\/?$/, nav: 'deadletters', render: renderDeadletter },
  { re: /^\/live\/?$/, nav: 'live', render: renderLive },
];

const main = document.getElementById('main');
const logoutButton = document.getElementById('logout');
let current = null; // {controller, cleanups}
let firstRender = true;

function setAuthed(authed) {
  logoutButton.hidden = !authed;
}

function setTitle(text) {
  document.title = text ? text + ' · waybill' : 'waybill console';
}

function markNav(nav) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// focusHeading moves focus to the new page's heading after an in-app
// navigation, so keyboard and screen-reader users start at the new content
// rather than on a link that no longer exists.
function focusHeading() {
  const h1 = main.querySelector('h1');
  if (!h1) return;
  h1.tabIndex = -1;
  h1.focus({ preventScroll: false });
}

function teardown() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups) {
    try { fn(); } catch (e) { console.warn(e); }
  }
  current = null;
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render({ focus: true });
}

// push records a URL without rendering: a page that updates itself in place
// (a new search) keeps back/forward working this way.
function push(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
}

async function render({ focus = false } = {}) {
  teardown();
  const controller = new AbortController();
  const state = { controller, cleanups: [] };
  current = state;

  const path = location.pathname;
  let route = null;
  let params = [];
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) { route = r; params = m.slice(1).map(decodeURIComponent); break; }
  }
  markNav(route ? route.nav : null);
  main.setAttribute('aria-busy', 'true');
  const ctx = {
    main,
    params,
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    navigate,
    push,
    setTitle,
    onCleanup: (fn) => state.cleanups.push(fn),
    // unauthorized is for failures outside the first render (a button, a
    // stream): they show the login form the same way.
    unauthorized: () => showLogin(),
  };

  try {
    if (!route) {
      setTitle('Not found');
      main.replaceChildren(notFound('There is no page at this address.'));
    } else {
      await route.render(ctx);
      if (current !== state) return; // a newer navigation won
      setAuthed(true);
    }
  } catch (err) {
    if (current !== state || err.name === 'AbortError') return;
    if (err instanceof Unauthorized) {
      showLogin();
    } else if (err instanceof APIError && err.status === 404) {
      setTitle('Not found');
      main.replaceChildren(notFound(err.message));
    } else {
      setTitle('Error');
      main.replaceChildren(
        h('h1', null, 'Something went wrong'),
        h('p', { class: 'error', role: 'alert' }, err.message || String(err)),
        h('p', null, h('button', { type: 'button', onclick: () => render({ focus: true }) }, 'Try again')),
      );
    }
  } finally {
    if (current === state) main.removeAttribute('aria-busy');
  }
  if (current === state && focus && !firstRender) focusHeading();
  firstRender = false;
}

function notFound(message) {
  return h('div', null,
    h('h1', null, 'Not found'),
    h('p', null, message || 'Nothing here.'),
    h('p', null, h('a', { href: '/shipments' }, 'Search shipments')));
}

function showLogin() {
  teardown();
  current = { controller: new AbortController(), cleanups: [] };
  setAuthed(false);
  setTitle('Log in');
  main.removeAttribute('aria-busy');
  renderLogin(main, async (token) => {
    await api.login(token);
    await render({ focus: true });
    announce('Logged in');
  });
}

logoutButton.addEventListener('click', async () => {
  try { await api.logout(); } catch (e) { if (!(e instanceof Unauthorized)) console.warn(e); }
  showLogin();
  announce('Logged out');
});

// In-app links: plain <a href> everywhere (so they work with the keyboard,
// open in a new tab, and are links to screen readers), intercepted here.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page anchor
  e.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', () => render({ focus: true }));

render();
