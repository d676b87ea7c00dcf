// Field mapping helpers for the new-sync wizard (pure functions, no DOM): suggestions that
// pair destination fields with source columns by name, and checks that catch a wrong
// mapping before the API is asked — unknown columns, duplicate or empty fields, and types
// that do not fit (a date column into an email field, a text column as a number).

/** Field names the common destination objects take (suggestions only; any name may be typed). */
const KNOWN_FIELDS = {
  'hubspot.contacts': ['email', 'firstname', 'lastname', 'phone', 'mobilephone', 'company', 'jobtitle', 'website', 'city', 'state', 'country', 'zip', 'lifecyclestage', 'date_of_birth'],
  'hubspot.companies': ['domain', 'name', 'industry', 'phone', 'city', 'state', 'country', 'numberofemployees', 'annualrevenue', 'website'],
  'hubspot.list_memberships': ['email'],
  'salesforce.Contact': ['Email', 'FirstName', 'LastName', 'Phone', 'MobilePhone', 'Title', 'MailingCity', 'MailingCountry'],
  'salesforce.Lead': ['Email', 'FirstName', 'LastName', 'Company', 'Phone', 'Title'],
  'mailchimp.members': ['email', 'FNAME', 'LNAME', 'PHONE', 'BIRTHDAY'],
  'klaviyo.profiles': ['email', 'first_name', 'last_name', 'phone_number', 'organization', 'title', 'city', 'country'],
  'braze.users': ['external_id', 'email', 'first_name', 'last_name', 'phone', 'country', 'city', 'dob'],
  'customerio.people': ['id', 'email', 'first_name', 'last_name', 'phone', 'created_at'],
};
const GENERIC_FIELDS = ['email', 'first_name', 'last_name', 'phone', 'external_id', 'country', 'city'];

/** Normalised spellings that mean the same field. */
const SYNONYMS = [
  ['email', 'emailaddress', 'mail'],
  ['firstname', 'fname', 'givenname', 'forename'],
  ['lastname', 'lname', 'surname', 'familyname'],
  ['phone', 'phonenumber', 'mobile', 'mobilephone', 'tel'],
  ['company', 'companyname', 'organization', 'organisation', 'accountname'],
  ['jobtitle', 'title'],
  ['zip', 'zipcode', 'postalcode', 'postcode'],
  ['dateofbirth', 'dob', 'birthday', 'birthdate'],
  ['externalid', 'userid', 'profileid', 'id'],
  ['domain', 'website', 'companydomain'],
];

export const normalise = (name) => String(name).toLowerCase().replace(/[^a-z0-9]/g, '');

function sameField(a, b) {
  const x = normalise(a);
  const y = normalise(b);
  if (x === y) return true;
  return SYNONYMS.some((group) => group.includes(x) && group.includes(y));
}

export function knownFields(type, object, key) {
  const list = KNOWN_FIELDS[`${type}.${object}`] || GENERIC_FIELDS;
  return [...new Set([key, ...list].filter(Boolean))];
}

/** The kind of value a field name suggests, or undefined when the name says nothing. */
export function expectedKind(field) {
  const n = normalise(field);
  if (/(email|phone|mobile|domain|zip|postal|country|city|state|name|title|website)/.test(n)) return 'string';
  if (/(date|birthday|dob|createdat|updatedat|at$|time)/.test(n)) return 'time';
  if (/(count|number|amount|total|revenue|score|age|numberof|employees)/.test(n)) return 'number';
  return undefined;
}

/**
 * Pairs each known field of the destination object with the best-named source column.
 * `columns`: [{ name, kind }]. Returns rows { field, kind: 'column', value, why }.
 */
export function suggestMapping(columns, fields, key) {
  const used = new Set();
  const rows = [];
  for (const f of fields) {
    // The object's key field (first) takes the sync's key column when their names agree.
    const column = (key && sameField(f, key) ? columns.find((c) => c.name === key && !used.has(c.name)) : undefined) || columns.find((c) => !used.has(c.name) && sameField(f, c.name));
    if (!column) continue;
    used.add(column.name);
    rows.push({ field: f, kind: 'column', value: column.name, why: normalise(f) === normalise(column.name) ? 'same name' : 'similar name' });
  }
  return rows;
}

/** Columns a template reads: `{{lower tier}}`, `{{default nick first_name}}` → tier, nick, first_name. */
export function templateColumns(text) {
  const helpers = new Set(['lower', 'upper', 'trim', 'default', 'json', 'date']);
  const out = [];
  for (const match of String(text).matchAll(/\{\{\s*([^}]*)\}\}/g)) {
    for (const token of match[1].trim().split(/\s+/)) {
      if (!token || helpers.has(token) || /^["'\d]/.test(token) || token === 'this' || token.startsWith('@')) continue;
      out.push(token);
    }
  }
  return out;
}

/**
 * Problems of a mapping before it is sent: [{ index, part: 'field' | 'value' | 'key', level:
 * 'error' | 'warning', message }]. Errors block; warnings only inform.
 */
export function checkMapping(rows, columns, key, objectKey) {
  const problems = [];
  const byName = new Map(columns.map((c) => [c.name, c]));
  const known = columns.map((c) => c.name).slice(0, 12).join(', ');
  const keyColumn = byName.get(key);
  if (!key) problems.push({ index: -1, part: 'key', level: 'error', message: 'Choose the column that identifies a record.' });
  else if (columns.length && !keyColumn) problems.push({ index: -1, part: 'key', level: 'error', message: `The source has no column ${key}.` });
  else if (keyColumn && (keyColumn.kind === 'time' || keyColumn.kind === 'boolean')) problems.push({ index: -1, part: 'key', level: 'error', message: `${key} is a ${keyColumn.kind}: a record key must be text or a number.` });
  if (!rows.length) problems.push({ index: -1, part: 'rows', level: 'error', message: 'Map at least one field, e.g. email → email.' });
  const seen = new Map();
  rows.forEach((row, index) => {
    const field = row.field.trim();
    if (!field) problems.push({ index, part: 'field', level: 'error', message: 'Name the destination field.' });
    else if (seen.has(field)) problems.push({ index, part: 'field', level: 'error', message: `${field} is mapped twice (also row ${seen.get(field) + 1}).` });
    else seen.set(field, index);
    const value = String(row.value).trim();
    if (row.kind === 'column') {
      const column = byName.get(value);
      if (!value) problems.push({ index, part: 'value', level: 'error', message: 'Choose a source column.' });
      else if (columns.length && !column) problems.push({ index, part: 'value', level: 'error', message: `The source has no column ${value}; use one of ${known}.` });
      else if (column && field) {
        const expected = expectedKind(field);
        if (expected && column.kind && expected !== column.kind && !(expected === 'string' && column.kind === 'number' && !/phone|zip|postal/.test(normalise(field)))) {
          const hint = column.kind === 'time' && expected === 'string' ? ` Use a template such as {{date ${value}}} to send it as text.` : '';
          problems.push({ index, part: 'value', level: 'warning', message: `${field} looks like a ${expected} field, but ${value} is a ${column.kind}.${hint}` });
        }
      }
    } else if (row.kind === 'template') {
      if (!value.includes('{{')) problems.push({ index, part: 'value', level: 'error', message: 'A template uses {{ }}, e.g. {{lower tier}}.' });
      const missing = columns.length ? templateColumns(value).filter((c) => !byName.has(c)) : [];
      if (missing.length) problems.push({ index, part: 'value', level: 'error', message: `The template reads ${missing.join(', ')}, which the source does not have.` });
    }
  });
  if (objectKey && rows.length && !rows.some((r) => sameField(r.field, objectKey)) && key && !sameField(key, objectKey)) {
    problems.push({ index: -1, part: 'rows', level: 'warning', message: `The destination matches records by ${objectKey}; the key column ${key} will be sent as the ${objectKey}.` });
  }
  return problems;
}

/** Mapping rows → the sync's `mapping:` object. */
export function mappingObject(rows) {
  const out = {};
  for (const row of rows) {
    const field = row.field.trim();
    if (row.kind === 'column') out[field] = row.value.trim();
    else if (row.kind === 'template') out[field] = { template: row.value };
    else out[field] = { const: row.value };
  }
  return out;
}
