// Language tags → names and flags. Names come from the browser (Intl.DisplayNames); a flag is
// the tag's region (`en-GB` → 🇬🇧) or the region most learners associate with the language.

/** The languages offered when creating a list (any BCP 47 tag the API accepts still displays). */
export const COMMON_LANGUAGES = ['en', 'ko', 'ja', 'zh', 'es', 'fr', 'de', 'it', 'pt', 'ru', 'vi', 'th', 'id', 'ar', 'hi', 'tr', 'nl', 'sv', 'pl', 'uk'];

const DEFAULT_REGION: Record<string, string> = {
  en: 'US', ko: 'KR', ja: 'JP', zh: 'CN', es: 'ES', fr: 'FR', de: 'DE', it: 'IT', pt: 'PT', ru: 'RU',
  vi: 'VN', th: 'TH', id: 'ID', ar: 'SA', hi: 'IN', tr: 'TR', nl: 'NL', sv: 'SE', pl: 'PL', uk: 'UA',
  el: 'GR', he: 'IL', fa: 'IR', ms: 'MY', tl: 'PH', da: 'DK', fi: 'FI', nb: 'NO', no: 'NO', cs: 'CZ',
  hu: 'HU', ro: 'RO', bn: 'BD', ur: 'PK', mn: 'MN', km: 'KH', lo: 'LA', my: 'MM', ka: 'GE', hy: 'AM',
};

function region(tag: string): string | undefined {
  const parts = tag.split('-');
  const lang = (parts[0] ?? '').toLowerCase();
  const explicit = parts.slice(1).find((p) => /^[A-Za-z]{2}$/.test(p));
  return explicit ? explicit.toUpperCase() : DEFAULT_REGION[lang];
}

/** The flag emoji for a language tag, or a globe when no region fits. */
export function flag(tag: string): string {
  const r = region(tag);
  if (!r) return '🌐';
  return String.fromCodePoint(...[...r].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

let names: Intl.DisplayNames | null | undefined;

/** "Korean" for `ko`; the tag itself when the browser doesn't know it. */
export function languageName(tag: string): string {
  if (names === undefined) {
    try {
      names = new Intl.DisplayNames(['en'], { type: 'language' });
    } catch {
      names = null;
    }
  }
  try {
    return names?.of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The primary language subtag, which groups lists on the home page (`en-US` with `en`). */
export function primaryLanguage(tag: string): string {
  return (tag.split('-')[0] ?? tag).toLowerCase();
}
