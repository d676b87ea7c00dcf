/**
 * Behavioural tables: web_events from the site's tracker (anonymous cookies that later log
 * in, several devices per person, a legacy tracker that shouts its event names, tracker
 * retries that send an event twice) and app_events from the mobile app.
 */
import type { Column, Row } from '../../../src/warehouse';
import { Rng, uniqueUuid } from './prng';
import { idKey, personAt, type Person } from './person';
import { DAY_MS, Salt, streamEntities, toSecond, type DemoTable, type GenContext } from './table';
import { APP_EVENT_TYPES, APP_EVENT_WEIGHTS, CONTENT_PATHS, PRODUCT_PATHS, SHOP_BASE, UTM_MEDIUMS, UTM_SOURCES } from './vocab';

export const webEventColumns: Column[] = [
  { name: 'event_id', type: 'string' },
  { name: 'anonymous_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'event_type', type: 'string' },
  { name: 'url', type: 'string' },
  { name: 'occurred_at', type: 'timestamp' },
];

type WebEventType = 'page_view' | 'product_view' | 'add_to_cart' | 'checkout' | 'login';

/** Next step of a shopping session: browse → product → cart → checkout, with drop-offs. */
function nextWebEvent(previous: WebEventType, rng: Rng): WebEventType {
  const r = rng.float();
  switch (previous) {
    case 'product_view':
      return r < 0.35 ? 'product_view' : r < 0.6 ? 'add_to_cart' : 'page_view';
    case 'add_to_cart':
      return r < 0.45 ? 'checkout' : r < 0.75 ? 'product_view' : 'page_view';
    default:
      return r < 0.55 ? 'product_view' : 'page_view';
  }
}

/** Full URLs built once per tracker flavour, so an event costs no string building. */
interface UrlSet {
  content: readonly string[];
  products: readonly string[];
  cart: string;
  checkout: readonly string[];
  login: string;
}

function urlSet(base: string): UrlSet {
  return {
    content: CONTENT_PATHS.map((p) => base + p),
    products: PRODUCT_PATHS.map((p) => base + p),
    cart: `${base}/cart`,
    checkout: [`${base}/checkout`, `${base}/checkout/payment`],
    login: `${base}/account/login`,
  };
}

const MODERN_URLS = urlSet(SHOP_BASE);
// The legacy tracker records plain http.
const LEGACY_URLS = urlSet(SHOP_BASE.replace('https://', 'http://'));

function webUrl(type: WebEventType, landing: boolean, legacy: boolean, rng: Rng): string {
  const urls = legacy ? LEGACY_URLS : MODERN_URLS;
  let url: string;
  switch (type) {
    case 'product_view':
      url = rng.pick(urls.products);
      break;
    case 'add_to_cart':
      url = urls.cart;
      break;
    case 'checkout':
      url = rng.pick(urls.checkout);
      break;
    case 'login':
      url = urls.login;
      break;
    default:
      url = rng.pick(urls.content);
  }
  // ... and sometimes a trailing slash; campaign landings carry UTM tags.
  if (legacy && !url.endsWith('/') && rng.chance(0.3)) url += '/';
  if (landing && rng.chance(0.3)) url += `?utm_source=${rng.pick(UTM_SOURCES)}&utm_medium=${rng.pick(UTM_MEDIUMS)}`;
  return url;
}

/** Session start times on one device, sorted, in [from, asOf). */
function sessionStarts(from: number, asOfMs: number, count: number, rng: Rng): number[] {
  const starts: number[] = [from];
  for (let s = 1; s < count; s++) starts.push(toSecond(from + rng.float() * (asOfMs - from)));
  return starts.sort((a, b) => a - b);
}

export function webEventsTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const rng = new Rng();
  return {
    name: 'web_events',
    columns: webEventColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        if (p.webDevices === 0) return;
        rng.forEntity(ctx.seed, Salt.web, index);
        const eventKey = idKey(ctx, Salt.webEventId, index);
        const anonKey = idKey(ctx, Salt.anonymousId, index);
        let counter = 0;
        for (let d = 0; d < p.webDevices; d++) {
          counter = emitDevice(ctx, p, d, eventKey, anonKey, counter, rng, out);
        }
      }),
  };
}

const SESSION_GAP_MS = 30 * 60 * 1000;

/** One browser: its sessions, its (optional) login, and every event after it carrying user_id. */
function emitDevice(
  ctx: GenContext,
  p: Person,
  device: number,
  eventKey: number,
  anonKey: number,
  counter: number,
  rng: Rng,
  out: Row[],
): number {
  const anonymousId = uniqueUuid(anonKey, device, rng);
  const legacy = rng.chance(0.03);
  const from = device === 0 ? p.firstSeenMs : toSecond(p.firstSeenMs + rng.float() * (ctx.asOfMs - p.firstSeenMs));
  const sessionRoll = rng.float();
  const sessions = sessionRoll < 0.55 ? 1 : sessionRoll < 0.85 ? 2 : sessionRoll < 0.96 ? 3 : 4;
  const starts = sessionStarts(from, ctx.asOfMs, sessions, rng);

  // The first device usually logs in; extra devices half the time; unregistered people never.
  const logsIn = p.registered && rng.chance(device === 0 ? 0.85 : 0.5);
  let loginSession = -1;
  if (logsIn) {
    loginSession = starts.findIndex((s) => s >= p.registeredMs);
    if (loginSession < 0) {
      // Signing up is itself a visit: add the session in which the account was created.
      starts.push(Math.max(p.registeredMs, from));
      loginSession = starts.length - 1;
    }
  }

  let userId: string | null = null;
  // A browser runs one session at a time: a session starts at least 30 minutes after the
  // previous one ended, so on every browser the login is also the first known event in time.
  let previousEnd = -Infinity;
  for (let s = 0; s < starts.length; s++) {
    const eventsRoll = rng.float();
    const events = 1 + Math.floor(-Math.log(1 - eventsRoll) * 1.35);
    const loginAt = s === loginSession ? rng.int(events + 1) : -1;
    let t = Math.max(starts[s], previousEnd + SESSION_GAP_MS);
    let type: WebEventType = 'page_view';
    for (let e = 0; e <= events; e++) {
      if (e === loginAt && t < ctx.asOfMs) {
        userId = p.userId;
        counter = pushWebEvent(out, eventKey, counter, anonymousId, userId, 'login', webUrl('login', false, legacy, rng), t, legacy, rng);
        t += 1000 * rng.between(5, 90);
      }
      if (e === events || t >= ctx.asOfMs) break;
      counter = pushWebEvent(out, eventKey, counter, anonymousId, userId, type, webUrl(type, e === 0, legacy, rng), t, legacy, rng);
      t += 1000 * rng.between(5, 240);
      type = nextWebEvent(type, rng);
    }
    previousEnd = t;
  }
  return counter;
}

function pushWebEvent(
  out: Row[],
  eventKey: number,
  counter: number,
  anonymousId: string,
  userId: string | null,
  type: WebEventType,
  url: string,
  ms: number,
  legacy: boolean,
  rng: Rng,
): number {
  const row: Row = {
    event_id: uniqueUuid(eventKey, counter, rng),
    anonymous_id: anonymousId,
    user_id: userId,
    event_type: legacy ? type.toUpperCase() : type,
    url,
    occurred_at: new Date(ms),
  };
  out.push(row);
  // Tracker retries: the same event delivered twice (staging deduplicates on event_id).
  if (rng.chance(0.005)) out.push({ ...row });
  return counter + 1;
}

export const appEventColumns: Column[] = [
  { name: 'event_id', type: 'string' },
  { name: 'device_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'event_type', type: 'string' },
  { name: 'occurred_at', type: 'timestamp' },
];

export function appEventsTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const rng = new Rng();
  return {
    name: 'app_events',
    columns: appEventColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        const userId = p.userId;
        if (!p.usesApp || userId === null) return;
        rng.forEntity(ctx.seed, Salt.app, index);
        const eventKey = idKey(ctx, Salt.appEventId, index);
        const deviceKey = idKey(ctx, Salt.deviceId, index);
        const devices = rng.chance(0.8) ? 1 : 2;
        let counter = 0;
        for (let d = 0; d < devices; d++) {
          const deviceId = uniqueUuid(deviceKey, d, rng);
          // Installed up to two days before signing up; events before sign-up have no user.
          const installed = Math.max(p.firstSeenMs, toSecond(p.registeredMs - rng.float() * 2 * DAY_MS));
          const from = d === 0 ? installed : toSecond(installed + rng.float() * (ctx.asOfMs - installed));
          const sessionRoll = rng.float();
          const sessions = sessionRoll < 0.55 ? 1 : sessionRoll < 0.85 ? 2 : 3;
          const starts = sessionStarts(from, ctx.asOfMs, sessions, rng);
          for (const start of starts) {
            const events = 1 + Math.floor(-Math.log(1 - rng.float()) * 1.0);
            let t = start;
            for (let e = 0; e < events && t < ctx.asOfMs; e++) {
              const type = e === 0 ? 'app_open' : rng.weighted(APP_EVENT_TYPES, APP_EVENT_WEIGHTS);
              out.push({
                event_id: uniqueUuid(eventKey, counter++, rng),
                device_id: deviceId,
                user_id: t >= p.registeredMs ? userId : null,
                event_type: type,
                occurred_at: new Date(t),
              });
              t += 1000 * rng.between(3, 180);
            }
          }
        }
      }),
  };
}
