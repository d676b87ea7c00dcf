// warehouse-cdp web UI (issue 7): vanilla ES modules, no build step, hash routing. Every
// screen is built from REST API calls carrying the user's API token (sessionStorage only);
// the UI has no power the API lacks. Errors are shown inline, never thrown: each async part
// of a page catches and renders its own error box. This module is the shell: sign-in, the
// router and the navigation; each screen lives in its own module.

import { api, clearToken, getToken, setToken } from './api.js';
import { errorBox, field, h } from './dom.js';
import { destinationFormPage, destinationsPage } from './destinations.js';
import { profilesPage } from './profiles.js';
import { segmentEditorPage } from './rule-builder.js';
import { segmentPage, segmentsPage } from './segments.js';
import { syncWizardPage } from './sync-wizard.js';
import { syncPage, syncsPage } from './syncs.js';

const main = document.getElementById('main');
const signout = document.getElementById('signout');

function signInPage(params) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const feedback = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'inline',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const token = input.value.trim();
        feedback.replaceChildren();
        if (!token) {
          feedback.replaceChildren(errorBox(new Error('Enter an API token.')));
          input.focus();
          return;
        }
        button.disabled = true;
        try {
          await api('GET', '/syncs', undefined, token); // any read call: proves the token works
          setToken(token);
          const target = params.next && params.next !== '#/signin' ? params.next : '#/segments';
          if (location.hash === target) render();
          else location.hash = target;
        } catch (error) {
          feedback.replaceChildren(errorBox(error));
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    field('API token', input),
    button,
  );
  return [
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Paste an API token (', h('code', {}, 'cdp keys create --name NAME --scope write'), '). It is kept in this browser tab only.'),
    form,
    feedback,
  ];
}

const NAME = '([A-Za-z_][A-Za-z0-9_]*)';
const ROUTES = [
  { re: /^#\/signin$/, page: signInPage, nav: null, open: true },
  { re: /^#\/segments$/, page: segmentsPage, nav: 'segments' },
  { re: /^#\/segments\/new$/, page: () => segmentEditorPage({}), nav: 'segments' },
  { re: new RegExp(`^#/segments/${NAME}/edit$`), page: segmentEditorPage, nav: 'segments', names: ['name'] },
  { re: new RegExp(`^#/segments/${NAME}$`), page: segmentPage, nav: 'segments', names: ['name'] },
  { re: /^#\/destinations$/, page: destinationsPage, nav: 'destinations' },
  { re: /^#\/destinations\/new$/, page: () => destinationFormPage({}), nav: 'destinations' },
  { re: new RegExp(`^#/destinations/${NAME}/edit$`), page: destinationFormPage, nav: 'destinations', names: ['name'] },
  { re: /^#\/syncs$/, page: syncsPage, nav: 'syncs' },
  { re: /^#\/syncs\/new$/, page: syncWizardPage, nav: 'syncs' },
  { re: new RegExp(`^#/syncs/${NAME}$`), page: syncPage, nav: 'syncs', names: ['name'] },
  { re: /^#\/profiles$/, page: profilesPage, nav: 'profiles' },
];

function render() {
  try {
    const raw = location.hash || '#/segments';
    const [hashPath, search = ''] = raw.split('?');
    const params = Object.fromEntries(new URLSearchParams(search));
    signout.hidden = !getToken();
    let route = ROUTES.find((r) => r.re.test(hashPath));
    if (!route) {
      main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No page at this address. ', h('a', { href: '#/segments' }, 'Go to segments')));
      return;
    }
    if (!route.open && !getToken()) {
      params.next = raw;
      route = ROUTES[0];
    }
    const match = hashPath.match(route.re);
    (route.names || []).forEach((n, i) => (params[n] = decodeURIComponent(match[i + 1])));
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    main.replaceChildren(...[route.page(params)].flat().filter(Boolean));
    const heading = main.querySelector('h1');
    document.title = heading ? `${heading.textContent} · warehouse-cdp` : 'warehouse-cdp';
    main.focus({ preventScroll: true });
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
}

signout.addEventListener('click', () => {
  clearToken();
  location.hash = '#/signin';
  render();
});
window.addEventListener('hashchange', render);
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  main.append(errorBox(event.reason));
});
render();
