/**
 * Identifier normalisation and hashing checked against the vendors' own documented examples:
 * each expected value below is copied from the page cited above it (input → normalised form
 * → SHA-256 hex), not computed here. Where a vendor publishes only the normalised form, the
 * test checks that form. LinkedIn publishes no input → hash example (its DMP users page shows
 * the SHA256_EMAIL shape only), so the linkedin test computes its digests itself.
 */
import { googleUserIdentifiers, normaliseGoogleEmail } from '../../connectors/google-ads';
import { metaIdentifiers, metaValue, normaliseMetaPhone, normaliseMetaValue } from '../../connectors/meta';
import { tiktokEmailHash, tiktokIds } from '../../connectors/tiktok';
import { normalizePhoneE164, sha256Hex } from '../../connectors/kit';

describe('Meta', () => {
  // https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters
  // ("Formatting the user_data Parameters": em, ph, fn examples with "Expected SHA256 output").
  // Custom Audiences use the same rules (Marketing API, custom-audiences guide, "Hashing and
  // Normalizing Data").
  test('email: "John_Smith@gmail.com" → john_smith@gmail.com → 62a14e44…', () => {
    expect(normaliseMetaValue('EMAIL', 'John_Smith@gmail.com')).toBe('john_smith@gmail.com');
    expect(metaValue('EMAIL', 'John_Smith@gmail.com')).toBe('62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f');
  });

  test('phone: US "(650)555-1212" → 16505551212 (country code in front, symbols removed) → e323ec62…', () => {
    expect(normaliseMetaPhone('(650)555-1212', '1')).toBe('16505551212');
    expect(metaValue('PHONE', '(650)555-1212', '1')).toBe('e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176');
    // Already international, with or without "+", gives the same digits.
    expect(normaliseMetaPhone('+1 (650) 555-1212', '1')).toBe('16505551212');
    expect(normaliseMetaPhone('1 650 555 1212', '1')).toBe('16505551212');
    // The default country may be given as an ISO country as well as a calling code.
    expect(normaliseMetaPhone('(650)555-1212', 'US')).toBe('16505551212');
    expect(metaValue('PHONE', '(650)555-1212', 'US')).toBe('e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176');
  });

  test('first name: "Mary" → mary, "정" stays UTF-8, "Valéry" → valéry (accents kept, also when decomposed)', () => {
    expect(metaValue('FN', 'Mary')).toBe('6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec');
    expect(metaValue('FN', '정')).toBe('8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14');
    expect(metaValue('FN', 'Valéry')).toBe('08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c');
    expect(metaValue('FN', 'Vale\u0301ry')).toBe('08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c');
    // "Last Name (ln): see First Name for examples."
    expect(metaValue('LN', 'Mary')).toBe('6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec');
  });

  test('the documented rules without published digests: ct, st, zip, country, gen, dob', () => {
    // Meta's normalising table: city lower-case, no punctuation or spaces; US state the 2-letter
    // code in lower case; US zip the first 5 digits; country ISO 3166-1 alpha-2 in lower case;
    // gender m/f; birth year YYYY, month and day two digits.
    expect(normaliseMetaValue('CT', 'Menlo Park')).toBe('menlopark');
    expect(normaliseMetaValue('ST', 'CA')).toBe('ca');
    expect(normaliseMetaValue('ZIP', '94025-1234')).toBe('94025');
    expect(normaliseMetaValue('COUNTRY', 'US')).toBe('us');
    expect(normaliseMetaValue('GEN', 'Female')).toBe('f');
    expect(normaliseMetaValue('DOBM', '2')).toBe('02');
    // Country and zip are hashed for Meta (unlike Google).
    expect(metaIdentifiers({ country: 'US', zip: '94025' }).values).toEqual({ COUNTRY: sha256Hex('us'), ZIP: sha256Hex('94025') });
  });
});

describe('Google', () => {
  // https://developers.google.com/data-manager/api/devguides/concepts/formatting ("Format user
  // data": the formats Customer Match expects; the page gives normalised forms, no digests).
  test('gmail: dots and +suffix removed; other domains keep them; whitespace removed; lower case', () => {
    expect(normaliseGoogleEmail('cloudy.sanfrancisco+shopping@gmail.com')).toBe('cloudysanfrancisco@gmail.com');
    expect(normaliseGoogleEmail('user.name+NYC@Example.com')).toBe('user.name+nyc@example.com');
    expect(normaliseGoogleEmail(' Jane Doe@Example.com ')).toBe('janedoe@example.com');
    expect(googleUserIdentifiers({ email: 'cloudy.sanfrancisco+shopping@gmail.com' }).identifiers).toEqual([{ hashedEmail: sha256Hex('cloudysanfrancisco@gmail.com') }]);
  });

  test('phone: US "(800)555-0100" → +18005550100 (E.164 with the plus) before hashing', () => {
    expect(normalizePhoneE164('(800)555-0100', '1')).toBe('+18005550100');
    expect(googleUserIdentifiers({ phone: '(800)555-0100' }, '1').identifiers).toEqual([{ hashedPhoneNumber: sha256Hex('+18005550100') }]);
    // Digits that already carry the country code are not given it twice.
    expect(normalizePhoneE164('18005550100', '1')).toBe('+18005550100');
  });
});

describe('TikTok', () => {
  // https://ads.tiktok.com/help/article/how-to-create-a-custom-audience-with-a-customer-file
  // (table "supported IDs and formats": Email and MAID with "Normalized" and "Hashed" examples).
  test('email: "janedoe@gmail.com" → d6117306…', () => {
    expect(tiktokEmailHash(' JaneDoe@Gmail.com ')).toBe('d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69');
    expect(tiktokIds({ email: 'janedoe@gmail.com' }).EMAIL_SHA256).toBe('d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69');
  });

  test('MAID: "5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25" → 83dc3f5f… (one case throughout)', () => {
    expect(tiktokIds({ idfa: '5F3A2B18-9C4D-4E7F-B8E2-17D3A1E69B25' }).IDFA_SHA256).toBe('83dc3f5f32b9472613b0f038d36f22585a609d018af6f6067f50da318bf354bd');
  });

  test('phone: E.164 with the plus, the format TikTok recommends (its example digest is of the digits without "+")', () => {
    // The page shows "Normalized: +37493828222" next to a digest that is SHA-256 of
    // "37493828222" ("also supported: without +"). We send the recommended E.164 form.
    expect(sha256Hex('37493828222')).toBe('65b7e6dcf6f4310f8d7cbfbd78289a753062fb054d6664fb9aaac5df66a422d4');
    expect(tiktokIds({ phone: '+37493828222' }).PHONE_SHA256).toBe(sha256Hex('+37493828222'));
  });
});
