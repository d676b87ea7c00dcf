/**
 * Word lists for the fictional retailer "Lumen & Oak" (home, outdoor and apparel) and its B2B
 * arm. Names mix the markets the seed articles come from (China, Russia, Thailand) with
 * English ones; everything is ASCII so emails stay plain. Domains are reserved (example.*,
 * .example), so no generated address can belong to anyone.
 */

export const FIRST_NAMES = [
  'James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Susan', 'Daniel', 'Jessica', 'Thomas', 'Sarah', 'Emily', 'Olivia', 'Noah', 'Liam',
  'Wei', 'Fang', 'Li', 'Min', 'Jing', 'Lei', 'Yan', 'Hui', 'Jun', 'Xiu',
  'Ivan', 'Anna', 'Dmitry', 'Olga', 'Sergey', 'Elena', 'Alexei', 'Natalia', 'Mikhail', 'Tatiana',
  'Somchai', 'Malee', 'Niran', 'Ploy', 'Kittisak', 'Siriporn', 'Anan', 'Chanida', 'Arthit', 'Kanya',
  'Lucas', 'Sofia', 'Mateo', 'Isabella', 'Hiro', 'Yuki', 'Amara', 'Omar', 'Fatima', 'Priya',
] as const;

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Wilson', 'Taylor',
  'Anderson', 'Thomas', 'Moore', 'Martin', 'Lee', 'Walker', 'Hall', 'Young', 'King', 'Wright',
  'Wang', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Xu',
  'Ivanov', 'Smirnova', 'Kuznetsov', 'Popova', 'Sokolov', 'Lebedeva', 'Kozlov', 'Novikova', 'Morozov', 'Volkova',
  'Saetang', 'Srisuk', 'Chaiyaporn', 'Wongsawat', 'Rattanakul', 'Boonmee', 'Kaewkla', 'Suwannarat', 'Thongchai', 'Phromma',
  'Silva', 'Rossi', 'Muller', 'Dubois', 'Tanaka', 'Sato', 'Okafor', 'Haddad', 'Khan', 'Patel',
] as const;

export const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example', 'inbox.example'] as const;

/** US area codes; the retailer ships from the US, so phones are NANP numbers. */
export const AREA_CODES = [
  '212', '213', '305', '312', '404', '415', '503', '512', '602', '617',
  '646', '702', '713', '718', '720', '773', '808', '818', '917', '971',
] as const;

export const SHOP_BASE = 'https://shop.lumenandoak.example';

export const CONTENT_PATHS = [
  '/', '/', '/', '/category/lighting', '/category/furniture', '/category/outdoor', '/category/apparel',
  '/category/kitchen', '/sale', '/new-arrivals', '/stores', '/gift-cards', '/blog/choosing-a-reading-lamp',
  '/blog/balcony-garden-ideas', '/help/shipping', '/help/returns', '/search',
] as const;

const PRODUCT_ADJECTIVES = ['oak', 'linen', 'brass', 'walnut', 'ceramic', 'wool', 'bamboo', 'steel', 'cotton', 'rattan'];
const PRODUCT_NOUNS = ['floor-lamp', 'side-table', 'throw-blanket', 'camp-chair', 'rain-jacket', 'pendant-light', 'planter', 'chefs-knife', 'duvet-cover', 'bookshelf'];

/** 100 product pages, built once: '/products/oak-floor-lamp-1004'. */
export const PRODUCT_PATHS: readonly string[] = PRODUCT_ADJECTIVES.flatMap((adj, a) =>
  PRODUCT_NOUNS.map((noun, n) => `/products/${adj}-${noun}-${1000 + a * 10 + n}`),
);

export const UTM_SOURCES = ['newsletter', 'google', 'facebook', 'tiktok', 'line', 'vk', 'wechat'] as const;
export const UTM_MEDIUMS = ['email', 'cpc', 'social', 'referral'] as const;

export const APP_EVENT_TYPES = ['screen_view', 'product_view', 'add_to_cart', 'purchase', 'push_open', 'search'] as const;
export const APP_EVENT_WEIGHTS = [40, 30, 12, 5, 6, 7] as const;

export const TICKET_SUBJECTS = [
  'Where is my order?', 'Item arrived damaged', 'Request a refund', 'Change delivery address',
  'Wrong size received', 'Cannot log in', 'Promo code not working', 'Invoice for my company',
  'Bulk order quote', 'Unsubscribe me from emails', 'Missing part in package', 'Warranty claim',
] as const;

export const COMPANY_PREFIXES = [
  'Northwind', 'Bluefin', 'Granite', 'Silverline', 'Redwood', 'Brightpath', 'Ironbark', 'Lotus', 'Siam', 'Volga',
  'Jade', 'Harbor', 'Summit', 'Cedar', 'Aurora', 'Pioneer', 'Crescent', 'Evergreen', 'Falcon', 'Meridian',
  'Oakridge', 'Pacific', 'Quantum', 'Riverstone', 'Sapphire', 'Tundra', 'Unity', 'Vertex', 'Willow', 'Zenith',
  'Amber', 'Baltic', 'Coral', 'Delta', 'Ember', 'Fjord', 'Golden', 'Horizon', 'Indigo', 'Kestrel',
] as const;

export const COMPANY_NOUNS = [
  'Logistics', 'Hospitality', 'Interiors', 'Foods', 'Retail', 'Analytics', 'Outfitters', 'Hotels', 'Builders', 'Design',
  'Trading', 'Health', 'Software', 'Media', 'Energy', 'Motors', 'Textiles', 'Studios', 'Clinics', 'Properties',
  'Airlines', 'Consulting', 'Education', 'Farms', 'Fitness', 'Gaming', 'Imports', 'Labs', 'Marine', 'Office',
  'Packaging', 'Printing', 'Robotics', 'Security', 'Telecom', 'Travel', 'Ventures', 'Water', 'Wellness', 'Works',
] as const;

/**
 * Legal suffix, the DNS zone its companies use (one zone per suffix, so every
 * prefix+noun+suffix gives a distinct domain) and the country it implies.
 */
export const COMPANY_SUFFIXES: readonly { suffix: string; zone: string; country: string }[] = [
  { suffix: 'Inc', zone: 'com.example', country: 'US' },
  { suffix: 'LLC', zone: 'us.example', country: 'US' },
  { suffix: 'Corp', zone: 'corp.example', country: 'US' },
  { suffix: 'Group', zone: 'group.example', country: 'US' },
  { suffix: 'Co', zone: 'co.example', country: 'US' },
  { suffix: 'Holdings', zone: 'holdings.example', country: 'US' },
  { suffix: 'Partners', zone: 'partners.example', country: 'US' },
  { suffix: 'LLP', zone: 'llp.example', country: 'US' },
  { suffix: 'Ltd', zone: 'co.uk.example', country: 'GB' },
  { suffix: 'PLC', zone: 'uk.example', country: 'GB' },
  { suffix: 'GmbH', zone: 'de.example', country: 'DE' },
  { suffix: 'AG', zone: 'ch.example', country: 'CH' },
  { suffix: 'SA', zone: 'fr.example', country: 'FR' },
  { suffix: 'BV', zone: 'nl.example', country: 'NL' },
  { suffix: 'AB', zone: 'se.example', country: 'SE' },
  { suffix: 'Pte Ltd', zone: 'sg.example', country: 'SG' },
  { suffix: 'Co., Ltd.', zone: 'co.th.example', country: 'TH' },
  { suffix: 'Ltd.', zone: 'cn.example', country: 'CN' },
  { suffix: 'OOO', zone: 'ru.example', country: 'RU' },
  { suffix: 'KK', zone: 'jp.example', country: 'JP' },
];

/** How hand-entered firmographics spell some countries instead of the ISO code. */
export const COUNTRY_SPELLINGS: Readonly<Record<string, string>> = {
  US: 'United States',
  GB: 'United Kingdom',
  DE: 'Germany',
  TH: 'Thailand',
  RU: 'Russia',
  CN: 'China',
};

export const INDUSTRIES = [
  'Hospitality', 'Retail', 'Technology', 'Healthcare', 'Education', 'Manufacturing', 'Real Estate',
  'Logistics', 'Financial Services', 'Media', 'Government', 'Non-profit',
] as const;

export const JOB_TITLES = [
  'Office Manager', 'Procurement Specialist', 'Purchasing Manager', 'Facilities Director', 'Operations Lead',
  'Interior Designer', 'Hotel Manager', 'Buyer', 'Head of Procurement', 'Executive Assistant',
  'Founder', 'CFO', 'Store Manager', 'Project Manager', 'Workplace Experience Lead',
] as const;
