/** The connector kit's helpers: rate-limit headers, HTTP failure mapping, identifier rules. */
import {
  ConnectorError,
  createConnectorContext,
  failureForStatus,
  hashEmail,
  hashPhone,
  mailchimpSubscriberHash,
  normalizeEmail,
  normalizePhoneDigits,
  normalizePhoneE164,
  objectOptions,
  parseResponse,
  pause,
  parseRetryAfter,
  phoneDefaultCountryOption,
  phoneRegion,
  readRateLimitHeaders,
  sha256Hex,
  throwForStatus,
} from '../../connectors/kit';
import { z } from 'zod';
import { AdBatchReporter, matchRateReport } from '../../connectors/kit/match-rate';
import { startWebhookReceiver } from '../fakes/webhook-receiver';

describe('rate-limit headers', () => {
  test('Retry-After as seconds or HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:29:00 GMT'))).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  test('X-RateLimit, IETF RateLimit and HubSpot families', () => {
    expect(readRateLimitHeaders(new Headers({ 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': '3' }))).toEqual({ limit: 100, remaining: 7, resetMs: 3000 });
    expect(readRateLimitHeaders(new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': '2000000000' }), 1_999_999_990_000)).toEqual({ remaining: 0, resetMs: 10_000 });
    expect(readRateLimitHeaders(new Headers({ 'x-hubspot-ratelimit-max': '190', 'x-hubspot-ratelimit-remaining': '1', 'x-hubspot-ratelimit-interval-milliseconds': '10000' }))).toEqual({ limit: 190, remaining: 1, resetMs: 10_000 });
    expect(readRateLimitHeaders(new Headers({ 'retry-after': '4' }))).toEqual({ retryAfterMs: 4000, resetMs: 4000 });
  });
});

describe('HTTP failures', () => {
  test('status classes', () => {
    expect([200, 401, 403, 404, 400, 422, 429, 500, 503, 408].map(failureForStatus)).toEqual([
      undefined, 'auth', 'auth', 'config', 'permanent', 'permanent', 'rate_limited', 'transient', 'transient', 'transient',
    ]);
  });

  test('throwForStatus carries the vendor message, status and Retry-After', () => {
    const error = (() => {
      try {
        throwForStatus('acme', { status: 429, headers: new Headers({ 'retry-after': '3' }), body: { message: 'You have reached your ten secondly limit' } }, 'upsert contacts');
      } catch (e) {
        return e as ConnectorError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ failure: 'rate_limited', retryAfterMs: 3000, httpStatus: 429, retryable: true });
    expect(error!.toLine()).toContain('destination acme: upsert contacts: HTTP 429 — You have reached your ten secondly limit');
  });

  test('an unexpected response shape is a transient ConnectorError naming the path', () => {
    expect(() => parseResponse('acme', z.object({ results: z.array(z.object({ id: z.string() })) }), { status: 200, headers: new Headers(), body: { results: [{ id: 1 }] } }, 'upsert')).toThrow(/results\.0\.id/);
  });

  test('ctx.http: JSON round trip, and connection refused / timeout become transient ConnectorErrors', async () => {
    const receiver = await startWebhookReceiver({ latencyMs: 300 });
    try {
      const ctx = createConnectorContext('acme', { baseUrl: receiver.url.replace('/hook', '') }, { timeoutMs: 5000 });
      const response = await ctx.http({ method: 'POST', path: '/hook', body: { object: 'x', op: 'upsert', rows: [] } });
      expect(response.status).toBe(200);
      const slow = createConnectorContext('acme', { baseUrl: receiver.url }, { timeoutMs: 50 });
      await expect(slow.http({ method: 'POST', path: '', body: {} })).rejects.toMatchObject({ failure: 'transient', message: expect.stringContaining('timed out') });
    } finally {
      await receiver.close();
    }
    const refused = createConnectorContext('acme', { baseUrl: 'http://127.0.0.1:9' }, { timeoutMs: 2000 });
    await expect(refused.http({ method: 'GET', path: '/' })).rejects.toMatchObject({ failure: 'transient' });
  });

  test('cancellation aborts a request in flight', async () => {
    const receiver = await startWebhookReceiver({ latencyMs: 2000 });
    try {
      const controller = new AbortController();
      const ctx = createConnectorContext('acme', { baseUrl: receiver.url }, { signal: controller.signal });
      const pending = ctx.http({ method: 'POST', path: '', body: {} });
      setTimeout(() => controller.abort(new Error('stop')), 20);
      await expect(pending).rejects.toMatchObject({ message: expect.stringContaining('cancelled') });
    } finally {
      await receiver.close();
    }
  });
});

describe('identifiers (destinations.md §0)', () => {
  test('emails', () => {
    expect(normalizeEmail('  Ann.Lee@Example.COM ')).toBe('ann.lee@example.com');
    expect(normalizeEmail('ann lee@example.com')).toBeNull();
    expect(normalizeEmail('ann lee@example.com', { removeInnerWhitespace: true })).toBe('annlee@example.com');
    expect(normalizeEmail('A.n.n+promo@gmail.com', { canonicalGmail: true })).toBe('ann@gmail.com');
    expect(normalizeEmail('not-an-email')).toBeNull();
    expect(hashEmail(' Ann@Example.com')).toBe(sha256Hex('ann@example.com'));
    expect(hashEmail(sha256Hex('x@y.z'))).toBe(sha256Hex('x@y.z'));
    expect(mailchimpSubscriberHash('Ann@Example.com ')).toBe(require('node:crypto').createHash('md5').update('ann@example.com').digest('hex'));
  });

  test('phones: Google E.164 vs Meta digits', () => {
    expect(normalizePhoneE164('+44 20 7946 0958')).toBe('+442079460958');
    expect(normalizePhoneE164('020 7946 0958', '44')).toBe('+442079460958');
    expect(normalizePhoneE164('0044 20 7946 0958')).toBe('+442079460958');
    expect(normalizePhoneE164('7946 0958')).toBeNull();
    expect(normalizePhoneE164('+1 2')).toBeNull();
    expect(normalizePhoneDigits('+1 (650) 555-1212')).toBe('16505551212');
    expect(hashPhone('+1 (650) 555-1212', 'e164')).toBe(sha256Hex('+16505551212'));
    expect(hashPhone('+1 (650) 555-1212', 'digits')).toBe(sha256Hex('16505551212'));
  });
});

describe('phones in E.164 (libphonenumber-js, max metadata)', () => {
  test('Italy: a mobile starting with 39 stays national (+39 391…); a landline keeps its 0', () => {
    // The old digit heuristic took "391…" as already carrying the country code (+3912345678).
    expect(normalizePhoneE164('391 234 5678', 'IT')).toBe('+393912345678');
    expect(normalizePhoneE164('391 234 5678', '39')).toBe('+393912345678');
    expect(normalizePhoneE164('3912345678', '39')).toBe('+393912345678');
    expect(normalizePhoneE164('06 1234 5678', 'IT')).toBe('+390612345678');
    expect(normalizePhoneDigits('391 234 5678', 'IT')).toBe('393912345678');
  });

  test('UK national with the trunk 0, by ISO country or calling code', () => {
    expect(normalizePhoneE164('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(normalizePhoneE164('020 7946 0958', '44')).toBe('+442079460958');
    expect(normalizePhoneE164('07911 123456', 'gb')).toBe('+447911123456');
    // Digits that already carry the country code, without "+", are recognised as such.
    expect(normalizePhoneE164('44 20 7946 0958', 'GB')).toBe('+442079460958');
  });

  test('US with and without the leading 1', () => {
    for (const country of ['US', '1', '+1']) {
      expect(normalizePhoneE164('(650) 555-1212', country)).toBe('+16505551212');
      expect(normalizePhoneE164('650-555-1212', country)).toBe('+16505551212');
      expect(normalizePhoneE164('1 650 555 1212', country)).toBe('+16505551212');
      expect(normalizePhoneE164('16505551212', country)).toBe('+16505551212');
    }
    // The US international prefix 011 is read as such in the US.
    expect(normalizePhoneE164('011 44 20 7946 0958', 'US')).toBe('+442079460958');
  });

  test('"+" and "00" make a number international whatever the default country', () => {
    for (const country of [undefined, 'US', 'IT', '44']) {
      expect(normalizePhoneE164('+44 20 7946 0958', country)).toBe('+442079460958');
      expect(normalizePhoneE164('0044 20 7946 0958', country)).toBe('+442079460958');
      expect(normalizePhoneE164('+44 (0)20 7946 0958', country)).toBe('+442079460958');
    }
    expect(normalizePhoneE164('0039 391 234 5678', 'US')).toBe('+393912345678');
  });

  test('invalid or impossible numbers are null, never guessed', () => {
    expect(normalizePhoneE164('555 1212', 'US')).toBeNull(); // too short
    expect(normalizePhoneE164('7946 0958', 'GB')).toBeNull(); // too short
    expect(normalizePhoneE164('+44 20 7946')).toBeNull();
    expect(normalizePhoneE164('12', 'US')).toBeNull();
    expect(normalizePhoneE164('+1 650 555 1212 999')).toBeNull(); // too long
    expect(normalizePhoneE164('+1 555 000 0000')).toBeNull(); // no US area code 555
    expect(normalizePhoneE164('(650) 555-1212')).toBeNull(); // national, and no default country
    expect(normalizePhoneE164('call +1 650 555 1212', 'US')).toBeNull(); // a text, not a number
    expect(normalizePhoneE164('n/a', 'US')).toBeNull();
    expect(normalizePhoneE164('', 'US')).toBeNull();
    expect(hashPhone('555 1212', 'e164', 'US')).toBeNull();
  });

  test('the default country: ISO 3166 or calling code; anything else is a clear config error', () => {
    expect(phoneRegion('US')).toEqual({ defaultCountry: 'US' });
    expect(phoneRegion('it')).toEqual({ defaultCountry: 'IT' });
    expect(phoneRegion('+44')).toEqual({ defaultCallingCode: '44' });
    expect(phoneRegion('999')).toBeNull();
    expect(phoneDefaultCountryOption.parse('GB')).toBe('GB');
    expect(phoneDefaultCountryOption.parse(44)).toBe('44'); // YAML `defaultCountryCode: 44`
    for (const bad of ['999', 'UK', 'USA', '800', '']) expect(phoneDefaultCountryOption.safeParse(bad).success).toBe(false);
    expect(phoneDefaultCountryOption.safeParse('UK').error?.issues[0]?.message).toBe('"UK" is neither an ISO 3166 country (US, GB, IT) nor the calling code of a country (1, 44, 39) (the ISO code of the United Kingdom is GB)');
    expect(() => normalizePhoneE164('020 7946 0958', 'UK')).toThrow(/default country for phone numbers: "UK" is neither/);
    // Options parsed through a connector's objectOptions: a config failure naming the option.
    const OPTIONS = objectOptions('adtest', { members: z.strictObject({ defaultCountryCode: phoneDefaultCountryOption.optional() }) });
    expect(OPTIONS.parse('members', { object: 'members', options: { defaultCountryCode: 'IT' } })).toEqual({ defaultCountryCode: 'IT' });
    let error: unknown;
    try {
      OPTIONS.parse('members', { object: 'members', options: { defaultCountryCode: '999' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ failure: 'config', message: expect.stringContaining('defaultCountryCode — "999" is neither an ISO 3166 country') });
  });
});

describe('object options', () => {
  const OPTIONS = objectOptions('acme', { contacts: z.strictObject({ listId: z.string().regex(/^\d+$/, 'listId is numeric'), mode: z.enum(['a', 'b']).default('a') }), notes: z.object({}) });

  test('parsed by the object’s schema with defaults; a bad or misspelt option is a config failure naming it', () => {
    expect(OPTIONS.parse('contacts', { object: 'contacts', options: { listId: '42' } })).toEqual({ listId: '42', mode: 'a' });
    const failureOf = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error as ConnectorError;
      }
      throw new Error('no failure');
    };
    const bad = failureOf(() => OPTIONS.parse('contacts', { object: 'contacts', options: { listId: 'x' } }));
    expect(bad).toBeInstanceOf(ConnectorError);
    expect(bad).toMatchObject({ failure: 'config', message: 'bad options for contacts: listId — listId is numeric', hint: 'fix object_options in the sync file (see connectors/acme/README.md)' });
    expect(failureOf(() => OPTIONS.parse('contacts', { object: 'contacts', options: { listId: '1', listid: '2' } })).message).toContain('bad options for contacts');
    expect(OPTIONS.unsupported({ object: 'notes', op: 'delete' })).toMatchObject({ failure: 'config', message: 'notes does not support the delete operation' });
    expect(OPTIONS.unknownObject({ object: 'deals' })).toMatchObject({ failure: 'config', message: 'unknown object deals', hint: 'acme objects are contacts, notes' });
  });
});

describe('match-rate report', () => {
  test('rows answered retry are left out (their later attempt counts them); invalid and refused rows are counted once', () => {
    const first = new AdBatchReporter(4);
    ['email', 'email', 'phone', 'email'].forEach((t, i) => first.identifiers(i, [t]));
    first.sent([0, 1, 2]);
    first.invalid(1);
    const a = first.finish([{ status: 'ok' }, { status: 'rejected', reason: 'bad' }, { status: 'retry', reason: '503' }, { status: 'rejected', reason: 'nothing usable' }]);
    expect(a).toEqual({ members: 3, withIdentifier: { email: 3 }, sent: 2, rejectedLocally: 1, reportedInvalid: 1 });
    const again = new AdBatchReporter(1);
    again.identifiers(0, ['phone']);
    again.sent([0]);
    again.invalidCount(0);
    const b = again.finish([{ status: 'ok' }]);
    expect(matchRateReport([a, b])).toMatchObject({ members: 4, sent: 3, rejectedLocally: 1, reportedInvalid: 1, withIdentifier: { email: 3, phone: 1 }, usableShare: 0.5 });
  });
});

test('pause ends early when the run is cancelled and leaves no abort listener behind', async () => {
  const controller = new AbortController();
  const added: unknown[] = [];
  const removed: unknown[] = [];
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  type Add = AbortSignal['addEventListener'];
  type Remove = AbortSignal['removeEventListener'];
  signal.addEventListener = ((...args: Parameters<Add>) => (added.push(args[1]), add(...args))) as Add;
  signal.removeEventListener = ((...args: Parameters<Remove>) => (removed.push(args[1]), remove(...args))) as Remove;
  for (let i = 0; i < 20; i++) await pause(1, signal);
  expect(removed).toEqual(added);
  const started = Date.now();
  setTimeout(() => controller.abort(), 10);
  await pause(10_000, signal);
  expect(Date.now() - started).toBeLessThan(5_000);
});
