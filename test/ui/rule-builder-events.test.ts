/**
 * The rule builder's event condition in a real browser, against `cdp serve` over DuckDB (the
 * marketer fixture): property filters (`where`) and an aggregate built through pickers from
 * GET /segments/catalog — property → operators of its kind → a value input of that kind,
 * rows added and removed by keyboard; the aggregate's property list limited to numbers except
 * for count. The live size is checked against a count computed here over the fixture's data;
 * an API error on a filter's value is shown next to that value; the saved rule opens again in
 * the same controls; no horizontal overflow at 400 px; no console or page error beyond the
 * one 400 provoked on purpose. Screenshots: test-artifacts/ui/.
 */
import type { Page } from 'playwright-core';
import { browserSuite, eventually, openBrowser, type UiBrowser } from './browser';
import { eventsOf, openMarketerFixture, type MarketerFixture, type Person } from './marketer-fixture';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;

const [title, suite] = browserSuite('web UI: event conditions with property filters and an aggregate');

/** The fixture's web events of a person with their amounts (purchases carry 10 + i; see marketer-fixture.ts). */
const purchasesOf = (p: Person) => eventsOf(p).filter((e) => e === 'purchase').map(() => 10 + p.i);

suite(title, () => {
  let fx: MarketerFixture;
  let ui: UiBrowser;
  let page: Page;
  const SEGMENT = 'big_buyers';

  const liveSize = () => page.locator('[data-live-size] [data-size]');
  const activePart = () => page.evaluate(() => document.activeElement && document.activeElement.dataset.part);
  const optionValues = (select: ReturnType<Page['locator']>) => select.locator('option').evaluateAll((os: any[]) => os.map((o) => o.value));

  beforeAll(async () => {
    fx = await openMarketerFixture(30);
    ui = await openBrowser();
    page = ui.page;
    ui.step('signin');
    await page.goto(`${fx.url}/#/signin`);
    await page.getByLabel('API token').fill(fx.tokens.write);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/#\/segments$/);
    await ui.settled();
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
    await fx?.close();
  }, 60_000);

  // purchase, amount ≥ 20 (filter), and the sum of those amounts ≥ 30 (aggregate) — computed over the fixture in JS.
  const filtered = (p: Person) => purchasesOf(p).filter((amount) => amount >= 20);
  const withFilter = () => fx.people.filter((p) => filtered(p).length >= 1);
  const withAggregate = () => fx.people.filter((p) => filtered(p).length >= 1 && filtered(p).reduce((a, b) => a + b, 0) >= 30);

  test('the fixture separates the filter from the aggregate', () => {
    expect(withFilter().length).toBeGreaterThan(withAggregate().length);
    expect(withAggregate().length).toBeGreaterThan(0);
  });

  test('a property filter and an aggregate through the controls; the live size follows them', async () => {
    ui.step('build');
    await page.goto(`${fx.url}/#/segments/new`);
    await ui.settled();
    const root = page.locator('fieldset[data-group="0"]');
    const add = root.locator(':scope > .row.add');
    await add.getByLabel('New condition').selectOption('event');
    await add.getByRole('button', { name: 'Add condition' }).click();
    const event = root.locator('.condition[data-condition="event"]');
    await event.locator('[data-part="event"]').selectOption('purchase');
    const buyers = fx.people.filter((p) => eventsOf(p).includes('purchase'));
    await eventually(() => liveSize().getAttribute('data-size'), (v) => expect(v).toBe(String(buyers.length)));

    // Add a property filter by keyboard: focus lands on its property picker.
    await event.getByRole('button', { name: 'Add property filter' }).focus();
    await page.keyboard.press('Enter');
    await expect(activePart()).resolves.toBe('property');
    const row = event.locator('[data-filter="0"]');
    expect(await row.locator('[data-part="property"] option').allTextContents()).toEqual(['— choose —', 'amount (number)', 'ts (time)']);
    await row.locator('[data-part="property"]').selectOption('amount');
    await row.locator('.hint', { hasText: /^number$/ }).waitFor();
    // amount is a number: numeric operators, and a number input.
    const ops = await optionValues(row.locator('[data-part="op"]'));
    expect(ops).toContain('gte');
    expect(ops).not.toContain('starts_with');
    await row.locator('[data-part="op"]').selectOption('gte');
    await expect(row.locator('[data-part="value"]').getAttribute('type')).resolves.toBe('number');
    await row.locator('[data-part="value"]').fill('20');
    await eventually(() => liveSize().getAttribute('data-size'), (v) => expect(v).toBe(String(withFilter().length)));

    // The aggregate: count takes any property, sum only numbers.
    const aggregate = event.locator('[data-aggregate]');
    await aggregate.getByLabel('Aggregate').selectOption('count');
    await aggregate.locator('[data-part="aggregate-property"]').waitFor();
    expect(await optionValues(aggregate.locator('[data-part="aggregate-property"]'))).toEqual(['', 'amount', 'ts']);
    await aggregate.getByLabel('Aggregate').selectOption('sum');
    await eventually(() => optionValues(aggregate.locator('[data-part="aggregate-property"]')), (v) => expect(v).toEqual(['', 'amount']));
    await aggregate.locator('[data-part="aggregate-property"]').selectOption('amount');
    await aggregate.locator('[data-part="aggregate-op"]').selectOption('gte');
    await aggregate.locator('[data-part="aggregate-value"]').fill('30');
    await eventually(() => liveSize().getAttribute('data-size'), (v) => expect(v).toBe(String(withAggregate().length)));
    await expect(page.locator('main [data-field-error]').count()).resolves.toBe(0);
    await ui.noHorizontalOverflow();
    await ui.shot('40-event-filters');

    // Every control is labelled.
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll('main input, main select, main textarea')].filter((el: any) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && el.type !== 'hidden').map((el: any) => el.outerHTML),
    );
    expect(unlabeled).toEqual([]);
    await page.setViewportSize({ width: 400, height: 800 });
    await ui.noHorizontalOverflow();
    await ui.shot('41-event-filters-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test("an API error on a filter's value is shown next to that value; removing the filter clears it", async () => {
    const event = page.locator('.condition[data-condition="event"]');
    await event.getByRole('button', { name: 'Add property filter' }).click();
    const row = event.locator('[data-filter="1"]');
    await row.locator('[data-part="property"]').selectOption('ts');
    await row.locator('.hint', { hasText: /^time$/ }).waitFor();
    await row.locator('[data-part="op"]').selectOption('gt');
    ui.step('filter-error'); // provokes a 400 from POST /segments/size
    const value = row.locator('[data-part="value"]');
    await value.fill('last tuesday');
    const valueField = row.locator('.field').filter({ has: page.locator('[data-part="value"]') });
    await eventually(() => valueField.locator('[data-field-error]').allTextContents(), (v) => expect(v).toEqual([expect.stringMatching(/property 'ts' needs an ISO date/)]));
    await expect(value.getAttribute('aria-invalid')).resolves.toBe('true');
    // Only there: the first filter and the aggregate carry no mark.
    await expect(page.locator('main [data-field-error]').count()).resolves.toBe(1);
    await ui.shot('42-event-filter-error');

    ui.step('build');
    await row.getByRole('button', { name: 'Remove property filter 2' }).focus();
    await page.keyboard.press('Enter');
    await expect(page.evaluate(() => document.activeElement.dataset.addFilter)).resolves.toBe('');
    await eventually(() => page.locator('main [data-field-error]').count(), (v) => expect(v).toBe(0));
    await eventually(() => liveSize().getAttribute('data-size'), (v) => expect(v).toBe(String(withAggregate().length)));
  });

  test('saved, the rule holds the filter and the aggregate and opens again in the same controls', async () => {
    ui.step('save');
    await page.getByLabel('Segment name').fill(SEGMENT);
    await page.getByRole('button', { name: 'Save segment' }).click();
    await page.waitForURL(new RegExp(`#/segments/${SEGMENT}$`));
    await ui.settled();
    const view = (await (await fetch(`${fx.url}/segments/${SEGMENT}`, { headers: { authorization: `Bearer ${fx.tokens.read}` } })).json()) as { definition: { rules: unknown } };
    expect(view.definition.rules).toEqual({
      all: [{ event: 'purchase', where: [{ property: 'amount', op: 'gte', value: 20 }], aggregate: { fn: 'sum', property: 'amount', op: 'gte', value: 30 } }],
    });
    await expect(page.locator('[data-size]').textContent()).resolves.toBe(String(withAggregate().length));

    await page.goto(`${fx.url}/#/segments/${SEGMENT}/edit`);
    await ui.settled();
    const event = page.locator('.condition[data-condition="event"]');
    await expect(event.locator('[data-filter="0"] [data-part="property"]').inputValue()).resolves.toBe('amount');
    await expect(event.locator('[data-filter="0"] [data-part="value"]').inputValue()).resolves.toBe('20');
    await expect(event.locator('[data-part="aggregate-fn"]').inputValue()).resolves.toBe('sum');
    await expect(event.locator('[data-part="aggregate-value"]').inputValue()).resolves.toBe('30');
    await eventually(() => liveSize().getAttribute('data-size'), (v) => expect(v).toBe(String(withAggregate().length)));
  });

  test('no console error or page error, except the 400 provoked on purpose', () => {
    const unexpected = ui.problems.filter((p) => !(p.step === 'filter-error' && /Failed to load resource: .*\b400\b/.test(p.text)));
    expect(unexpected).toEqual([]);
  });
});
