import { flag, languageName } from '../lib/langs.ts';

/** A language's flag and name; the flag is decoration, the name is what screen readers read. */
export function Lang({ tag, short = false }: { tag: string; short?: boolean }) {
  const name = languageName(tag);
  return (
    <span className="lang" title={name}>
      <span className="flag" aria-hidden="true">
        {flag(tag)}
      </span>
      {short ? <span className="visually-hidden">{name}</span> : <span>{name}</span>}
    </span>
  );
}

/** "🇺🇸 → 🇰🇷" with the names for screen readers. */
export function LangPair({ from, to }: { from: string; to: string }) {
  return (
    <span className="lang-pair">
      <Lang tag={from} short />
      <span aria-hidden="true"> → </span>
      <span className="visually-hidden"> to </span>
      <Lang tag={to} short />
    </span>
  );
}
